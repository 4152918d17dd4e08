package flow

import (
	"reflect"

	"github.com/replicaflow/replicaflow/metrics"
	"github.com/replicaflow/replicaflow/openapi"
	"github.com/replicaflow/replicaflow/service"
)

// mountObservers mounts the OpenAPI document, the docs page and the metrics.
func (f *Flow) mountObservers() {
	if f.cfg.docs {
		f.spec = openapi.NewSpec(openapi.InfoFromEnv(f.cfg.info), f.operations)
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

// operations describes every endpoint of every service, for the OpenAPI
// document.
func (f *Flow) operations() []openapi.Operation {
	var ops []openapi.Operation
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
