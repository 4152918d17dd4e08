// Package cluster holds what the cluster's roles share: the registration a
// worker sends to a supervisor (PicoAPI's payload, extended) and the
// protocol that keeps an instance's registration its own.
//
// The roles live in subpackages: worker (registers an app with a
// supervisor), supervisor (accepts registrations and health-checks them),
// gateway (routes /{service}/... to healthy instances) and config (PicoAPI's
// API_* variables and .env file).
package cluster
