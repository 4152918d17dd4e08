// Package dashboard serves a live page that shows a flow's services as they
// run: their state, their replicas (running, pending, desired, min and max),
// the requests in flight and queued, requests per second, p50 and p99
// latency, the error rate, the autoscaler's latest decisions with their
// reasons, and a chart of replicas against ongoing requests over the last
// minutes. Buttons start and stop each service through the management API.
//
// The page is plain HTML, CSS and JavaScript embedded in the binary: no CDN,
// no build step. It polls one JSON document, the status endpoint
// ({path}/api/status), which scripts can read too:
//
//	curl -s localhost:8000/dashboard/api/status | jq '.services[] | {name, state, replicas}'
//
// A sampler reads every service's status and the flow's Prometheus registry
// once per interval (default 1s) and keeps a ring of the last few minutes
// (default 5m) per service; rates and latency quantiles come from the
// differences between samples (counter and histogram-bucket deltas), so the
// dashboard adds nothing to the request path.
//
// Protection follows the management API's rule, and uses its token (under
// Mount, the flow's management API's; else the Token option): with a token
// set, the status endpoint needs it as a bearer token (the page asks for it
// and keeps it in the tab's sessionStorage) and the page's static files,
// which hold no data, are served to anyone; with no token, everything
// answers loopback clients only.
//
// A flow serves it with the Mount option:
//
//	app := flow.New(dashboard.Mount())
//
// Anything else that lists services (a Source) can have one too: New, then
// serve Handler under Path and Start the sampler.
package dashboard
