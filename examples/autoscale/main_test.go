package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/replicaflow/replicaflow/examples/autoscale/slowapp"
	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/internal/testutil"
	"github.com/replicaflow/replicaflow/service"
)

// TestScalesUpAndDown drives the example's service with more clients than
// one replica can serve, checks that replicas are added, then stops the load
// and checks that they go back to one, with no failed request. The bounds
// are generous: this checks behaviour, not speed.
func TestScalesUpAndDown(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	app, svc := slowapp.NewApp([]flow.Option{flow.Logger(quiet)}, service.DownscaleDelay(500*time.Millisecond))
	if err := app.StartServices(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app.Handler())
	defer func() {
		srv.Close()
		app.Shutdown(context.Background())
	}()
	testutil.WaitFor(t, "the first replica", 5*time.Second, func() bool { return svc.Ready() == nil })

	load := slowapp.NewLoad(srv.URL + "/slow")
	defer load.Stop()
	load.Set(12)
	testutil.WaitFor(t, "scale-up under load", 15*time.Second, func() bool { return svc.Status().Replicas.Running >= 6 })
	if st := svc.Status().Replicas; st.Running > 8 || st.Desired > 8 {
		t.Errorf("more than max replicas: %+v", st)
	}
	load.Stop()
	testutil.WaitFor(t, "scale-down at rest", 15*time.Second, func() bool {
		st := svc.Status().Replicas
		return st.Running == 1 && st.Stopping == 0
	})
	ok, failed := load.Counts()
	if ok == 0 || failed != 0 {
		t.Errorf("%d requests answered, %d failed; want none failed", ok, failed)
	}
}

// TestLoadCommand runs the -load command with short phases and checks what
// it prints.
func TestLoadCommand(t *testing.T) {
	var out bytes.Buffer
	err := run(&out, []phase{{8, 1500 * time.Millisecond}, {0, 1500 * time.Millisecond}}, 250*time.Millisecond,
		service.DownscaleDelay(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"running", "desired", "scaling decisions:", "up:", "down:"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
}
