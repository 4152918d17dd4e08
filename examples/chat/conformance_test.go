package main

import (
	"testing"

	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/flowtest"
	"github.com/replicaflow/replicaflow/internal/conformance"
)

// TestConformance drives the chat's HTTP endpoints with the cases the
// document makes and the ones below, and checks each answer against the
// document. The WebSocket route (documented 101) is left to TestChat: an
// HTTP request cannot drive it, and Generate skips it.
func TestConformance(t *testing.T) {
	app := NewApp(flow.Logger(flowtest.Logger(t)))
	flowtest.New(t, app) // starts the services
	s := conformance.ForFlow(t, app)
	s.Run(t, append(s.Generate(),
		conformance.Case{Name: "page", Method: "GET", Target: "/chat", Status: 200},
		conformance.Case{Name: "ws without an upgrade", Method: "GET", Target: "/chat/ws?name=ada", Status: 426},
	))
}
