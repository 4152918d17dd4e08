package main

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/flowtest"
	"github.com/replicaflow/replicaflow/internal/conformance"
)

// TestConformance drives every endpoint with the cases the document makes
// and the ones below, and checks each answer against the document.
func TestConformance(t *testing.T) {
	file := filepath.Join(t.TempDir(), "r.txt")
	if err := os.WriteFile(file, []byte("a report\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	app := NewApp(file, flow.Logger(flowtest.Logger(t)))
	flowtest.New(t, app) // starts the services
	s := conformance.ForFlow(t, app)
	cases := []conformance.Case{
		{Name: "items create empty object", Method: "POST", Target: "/items", Header: jsonHeader, Body: []byte(`{}`), Status: 201},
		{Name: "items no body", Method: "POST", Target: "/items", Status: 201},
		{Name: "redirect", Method: "GET", Target: "/old", Status: 301},
		{Name: "count to 3", Method: "GET", Target: "/count?to=3", Status: 200},
		{Name: "count to 2000", Method: "GET", Target: "/count?to=2000", Status: 422},
		{Name: "count every bogus", Method: "GET", Target: "/count?to=1&every=bogus", Status: 422},
		{Name: "ticks n 2", Method: "GET", Target: "/ticks?n=2", Status: 200},
		{Name: "ticks without n", Method: "GET", Target: "/ticks"},
		{Name: "item 1", Method: "GET", Target: "/items/1", Status: 200},
		{Name: "item 2 not found", Method: "GET", Target: "/items/2", Status: 404},
		{Name: "file range", Method: "GET", Target: "/file", Header: http.Header{"Range": {"bytes=0-3"}}, Status: 206},
		{Name: "file range past the end", Method: "GET", Target: "/file", Header: http.Header{"Range": {"bytes=100-200"}}, Status: 416},
		{Name: "file two ranges", Method: "GET", Target: "/file", Header: http.Header{"Range": {"bytes=0-1,3-4"}}, Status: 206},
		{Name: "file not modified", Method: "GET", Target: "/file", Header: http.Header{"If-Modified-Since": {time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}}, Status: 304},
	}
	s.Run(t, append(s.Generate(), cases...))

	// The file gone: 404, as problem details.
	gone := NewApp(filepath.Join(t.TempDir(), "gone.txt"), flow.Logger(flowtest.Logger(t)))
	flowtest.New(t, gone)
	conformance.ForFlow(t, gone).Run(t, []conformance.Case{
		{Name: "file gone", Method: "GET", Target: "/file", Status: 404},
	})
}

var jsonHeader = map[string][]string{"Content-Type": {"application/json"}}
