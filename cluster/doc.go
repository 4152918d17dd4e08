// Package cluster holds what the cluster's roles share: the registration a
// worker sends to a supervisor (PicoAPI's payload, extended) and the guard
// that protects every call that changes the running system.
//
// The roles live in subpackages: worker (registers an app with a
// supervisor), supervisor (accepts registrations and health-checks them),
// gateway (routes /{service}/... to healthy instances) and config (PicoAPI's
// API_* variables and .env file).
package cluster
