// Package manage is the management API of a flow: ProcessPype's paths and
// payloads for listing, registering, starting, stopping, configuring and
// removing services while the server runs.
//
// Service classes are named constructors registered in Go (ProcessPype's
// @register_service_class); POST /services/register makes an instance of
// one and mounts it. The Manager speaks to the flow through Host, so this
// package does not import package flow; every flow mounts one (under /admin
// by default; flow.Management configures it) and the flow's Manager method
// returns it. Packages that run services elsewhere (distributed mode's
// nodes) add them to the listings with Manager.SetRemote.
//
// The API changes the running system, so every call is protected: with a
// token (Options.Token, else the REPLICAFLOW_ADMIN_TOKEN environment
// variable) a request needs "Authorization: Bearer <token>" (401 without
// it); with no token only loopback clients are served (403 for the rest).
//
// Paths, under the prefix:
//
//	GET    /                                  version, state and every service's status
//	GET    /services                          {"services": [{name, state, is_configured, error}]}
//	POST   /services/register                 {"service_name": "counter", "instance_name": "primary-counter"}
//	GET    /services/{name}                   {state, error, metadata, is_configured}
//	DELETE /services/{name}                   stop it and remove its routes
//	POST   /services/{name}/start
//	POST   /services/{name}/stop
//	POST   /services/{name}/configure         the configuration as a JSON object
//	POST   /services/{name}/configure_and_start
//
// Every error is RFC 9457 problem details: 404 for an unknown class or
// service, 409 for a duplicate name or an illegal transition, 422 for a bad
// configuration or instance name, 400 for malformed JSON, 401/403 from the
// guard, and 500 for a start or stop that failed (the service is then in
// the failed state, and its status says why).
package manage
