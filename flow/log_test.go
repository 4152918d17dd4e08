package flow_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/flowtest"
	"github.com/replicaflow/replicaflow/service"
)

func slogTo(w io.Writer) *slog.Logger {
	if w == nil {
		w = io.Discard
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// A service at debug writes one access line per request; one at info none.
func TestAccessLogAtDebug(t *testing.T) {
	var logs bytes.Buffer
	app := flow.New(flow.Logger(slogTo(&logs)))
	loud := app.Service(service.BaseRoute("/loud"), service.LogLevel(slog.LevelDebug))
	quiet := app.Service(service.BaseRoute("/quiet"))
	for _, s := range []*service.Service{loud, quiet} {
		flow.Endpoint(s, "GET", "/", func(ctx context.Context, _ none) (string, error) { return "ok", nil })
	}
	c := flowtest.New(t, app)
	c.Get("/loud")
	c.Get("/quiet")
	out := logs.String()
	if strings.Count(out, "msg=request") != 1 || !strings.Contains(out, "path=/loud") || !strings.Contains(out, "status=200") {
		t.Fatalf("access lines:\n%s", out)
	}
}
