package main

import (
	"testing"

	"github.com/replicaflow/replicaflow/examples/autoscale/slowapp"
	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/flowtest"
	"github.com/replicaflow/replicaflow/internal/conformance"
)

// TestConformance drives the slow endpoint with the cases the document
// makes (each waits slowapp.Work) and checks each answer against the
// document; /slow/, with a trailing slash, is no route.
func TestConformance(t *testing.T) {
	app, _ := slowapp.NewApp([]flow.Option{flow.Logger(flowtest.Logger(t))})
	flowtest.New(t, app) // starts the services
	s := conformance.ForFlow(t, app)
	s.Run(t, append(s.Generate(),
		conformance.Case{Name: "slow", Method: "GET", Target: "/slow", Status: 200},
		conformance.Case{Name: "slow with a trailing slash", Method: "GET", Target: "/slow/", Status: 404},
	))
}
