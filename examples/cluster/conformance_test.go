package main

import (
	"testing"

	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/flowtest"
	"github.com/replicaflow/replicaflow/internal/conformance"
)

// TestConformance drives every endpoint of the worker (without a
// supervisor) with the cases the document makes and the ones below, and
// checks each answer against the document.
func TestConformance(t *testing.T) {
	app := NewApp(flow.Logger(flowtest.Logger(t)))
	flowtest.New(t, app) // starts the services
	s := conformance.ForFlow(t, app)
	s.Run(t, append(s.Generate(),
		conformance.Case{Name: "whoami", Method: "GET", Target: "/whoami", Status: 200},
		conformance.Case{Name: "hello unicode", Method: "GET", Target: "/hello/%C3%A9mile", Status: 200},
	))
}
