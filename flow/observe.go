package flow

import (
	"maps"
	"net/http"
	"os"
	"reflect"
	"strings"

	"github.com/replicaflow/replicaflow/manage"
	"github.com/replicaflow/replicaflow/metrics"
	"github.com/replicaflow/replicaflow/openapi"
	"github.com/replicaflow/replicaflow/service"
)

// mountObservers mounts the OpenAPI document, the docs page and the metrics.
func (f *Flow) mountObservers() {
	if f.cfg.docs {
		f.spec = openapi.NewSpec(f.docInfo(), f.operations)
		f.system = append(f.system, mount{f.cfg.specPath, f.spec.Handler()})
		docs := openapi.Docs(openapi.DocsConfig{Path: f.cfg.docsPath, SpecPath: f.cfg.specPath})
		f.system = append(f.system, mount{f.cfg.docsPath, docs})
	}
	if f.cfg.metrics {
		f.metrics = metrics.New()
		f.system = append(f.system, mount{f.cfg.metricsPath, f.metrics.Handler()})
		f.metrics.Registry().MustRegister(newPoolCollector(f))
	}
}

// adminScheme names the management API's bearer token in the document.
const adminScheme = "adminToken"

// docInfo is the framing of the OpenAPI document: the Info option under
// the environment, a server relative to the document's URL unless Servers
// set one, and the management API's token scheme when the flow's own
// routes are documented.
func (f *Flow) docInfo() openapi.Info {
	info := openapi.InfoFromEnv(f.cfg.info)
	if len(info.Servers) == 0 {
		info.Servers = []string{rootFrom(f.cfg.specPath)}
	}
	if f.cfg.documentOwn && f.adminToken() {
		schemes := map[string]openapi.SecurityScheme{}
		maps.Copy(schemes, info.SecuritySchemes)
		if _, ok := schemes[adminScheme]; !ok {
			s := openapi.BearerAuth("")
			s.Description = "the management API's token (" + manage.TokenEnv + ")"
			schemes[adminScheme] = s
		}
		info.SecuritySchemes = schemes
	}
	return info
}

// adminToken reports whether the management API is on and needs a token.
func (f *Flow) adminToken() bool {
	o := f.cfg.management
	return o != nil && !o.Disabled && (o.Token != "" || os.Getenv(manage.TokenEnv) != "")
}

// rootFrom is the URL of the app's root relative to the document served at
// specPath: "." for "/openapi.json", ".." for "/meta/openapi.json".
func rootFrom(specPath string) string {
	depth := strings.Count(strings.Trim(specPath, "/"), "/")
	if depth == 0 {
		return "."
	}
	return strings.TrimSuffix(strings.Repeat("../", depth), "/")
}

// operations describes every endpoint of every service, for the OpenAPI
// document, and the flow's own routes when DocumentOwnRoutes asks.
func (f *Flow) operations() []openapi.Operation {
	var ops []openapi.Operation
	if f.cfg.documentOwn {
		ops = f.ownOperations()
	}
	for _, s := range f.Services() {
		for _, ep := range s.Endpoints() {
			req, plan := ep.Request, ep.Plan
			if req.Kind() == reflect.Struct && req.NumField() == 0 {
				req, plan = nil, nil // no input
			}
			ops = append(ops, openapi.Operation{
				Service:     s.Name(),
				Method:      ep.Method,
				Path:        s.Path(ep.Route),
				OperationID: ep.OperationID,
				Summary:     ep.Summary,
				Description: ep.Description,
				Tags:        ep.Tags,
				Deprecated:  ep.Deprecated,
				Request:     req,
				Plan:        plan,
				Response:    ep.Response,
				Status:      ep.Status,
				WebSocket:   ep.WebSocket,
				ContentType: ep.ContentType,
				Errors:      ep.Errors,
				Security:    ep.Security,
			})
		}
	}
	return ops
}

// serviceRemoved refreshes what describes the services once svc left: the
// OpenAPI document and its metrics.
func (f *Flow) serviceRemoved(svc *service.Service) {
	f.refreshDocs()
	if f.metrics != nil {
		f.metrics.Forget(svc.Name())
	}
}

// Info returns the title, version and description of the flow, as its
// OpenAPI document gives them (the Info option under API_TITLE,
// API_VERSION and API_DESCRIPTION).
func (f *Flow) Info() openapi.Info { return openapi.InfoFromEnv(f.cfg.info) }

// Metrics returns the flow's Prometheus metrics (nil when turned off), to
// register more collectors.
func (f *Flow) Metrics() *metrics.Metrics { return f.metrics }

// ownOperations describes the flow's own routes: health and the
// management API.
func (f *Flow) ownOperations() []openapi.Operation {
	public := []string{}
	ops := []openapi.Operation{
		{Method: "GET", Path: "/healthz", Tags: []string{"health"}, Security: public,
			Summary: "Liveness: the process serves", Response: reflect.TypeFor[healthStatus]()},
		{Method: "GET", Path: "/readyz", Tags: []string{"health"}, Security: public,
			Summary: "Readiness: every service can take requests", Response: reflect.TypeFor[healthStatus](),
			Description: "503 problem details name the services that are not ready."},
	}
	m := f.Manager()
	if m == nil {
		return ops
	}
	security := public
	if f.adminToken() {
		security = []string{adminScheme}
	}
	p := m.Prefix()
	named := []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusConflict}
	// A configuration is the class's own JSON object: read as JSON (415
	// otherwise, 413 over manage.MaxBody), refused 400 when malformed and
	// 422 when it does not validate.
	config := reflect.TypeFor[map[string]any]()
	for _, op := range []openapi.Operation{
		{Method: "GET", Path: p, Summary: "The app and its services", Response: reflect.TypeFor[manage.AppStatus]()},
		{Method: "GET", Path: p + "/services", Summary: "List services", Response: reflect.TypeFor[manage.ServiceList]()},
		{Method: "POST", Path: p + "/services/register", Summary: "Register a service instance",
			Request: reflect.TypeFor[manage.Registration](), Response: reflect.TypeFor[manage.Registered]()},
		{Method: "GET", Path: p + "/services/:name", Summary: "A service's status", Response: reflect.TypeFor[manage.ServiceStatus]()},
		{Method: "DELETE", Path: p + "/services/:name", Summary: "Remove a service", Response: reflect.TypeFor[manage.Result]()},
		{Method: "POST", Path: p + "/services/:name/start", Summary: "Start a service", Response: reflect.TypeFor[manage.Result]()},
		{Method: "POST", Path: p + "/services/:name/stop", Summary: "Stop a service", Response: reflect.TypeFor[manage.Result]()},
		{Method: "POST", Path: p + "/services/:name/configure", Summary: "Configure a service",
			Request: config, Response: reflect.TypeFor[manage.Result]()},
		{Method: "POST", Path: p + "/services/:name/configure_and_start", Summary: "Configure and start a service",
			Request: config, Response: reflect.TypeFor[manage.Result]()},
	} {
		op.Tags, op.Security, op.Errors = []string{"management"}, security, named
		ops = append(ops, op)
	}
	return ops
}

// healthStatus is the body of a healthy /healthz or /readyz.
type healthStatus struct {
	Status string `json:"status"`
}

// Spec returns the flow's OpenAPI document (nil when flow.Docs turned it
// off): its JSON and its parsed form, built from the endpoints of the
// moment.
func (f *Flow) Spec() *openapi.Spec { return f.spec }
