package flow_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/replicaflow/replicaflow/dashboard"
	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/manage"
	"github.com/replicaflow/replicaflow/service"
)

var dashboardLog = slog.New(slog.NewTextHandler(io.Discard, nil))

type pong struct {
	OK bool `json:"ok"`
}

func pingService(app *flow.Flow) {
	svc := app.Service(service.Name("ping"), service.BaseRoute("/ping"), service.Replicas(1, 3))
	flow.Endpoint(svc, "GET", "/", func(context.Context, struct{}) (pong, error) { return pong{true}, nil })
}

// boardStatus reads the dashboard's status document through h as a
// loopback client.
func boardStatus(t *testing.T, h http.Handler) dashboard.Status {
	t.Helper()
	r := httptest.NewRequest("GET", "http://localhost/dashboard/api/status", nil)
	r.RemoteAddr = "127.0.0.1:9"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("status endpoint: %d %s", w.Code, w.Body)
	}
	var st dashboard.Status
	if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestMountDashboardReadsTheFlowsMetrics(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	t.Setenv(manage.TokenEnv, "")
	app := flow.New(flow.Logger(dashboardLog), flow.Info("shop", "1", ""))
	pingService(app)
	d := app.MountDashboard(dashboard.Interval(20 * time.Millisecond))
	defer func() {
		d.Close()
		app.Shutdown(context.Background())
	}()

	for range 30 {
		w := httptest.NewRecorder()
		app.ServeHTTP(w, httptest.NewRequest("GET", "/ping", nil))
		if w.Code != http.StatusOK {
			t.Fatalf("GET /ping: %d", w.Code)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := boardStatus(t, app)
		if st.Title != "shop" || !st.Metrics || len(st.Services) != 1 || st.Services[0].Name != "ping" {
			t.Fatalf("status %+v", st)
		}
		svc := st.Services[0]
		if tr := svc.Traffic; tr != nil && tr.Requests == 30 {
			if svc.State != "running" || svc.Replicas.Running < 1 || tr.P50 == nil || tr.ErrorRate == nil || *tr.ErrorRate != 0 {
				t.Fatalf("service %+v, traffic %+v", svc, *tr)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dashboard never counted the 30 requests: %+v", svc.Traffic)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDashboardOptionMountsOnStartAndStopsOnShutdown(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent(),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
	t.Setenv(manage.TokenEnv, "")
	app := flow.New(flow.Address("127.0.0.1:0"), flow.Logger(dashboardLog),
		flow.Management(manage.Options{}), flow.Dashboard(dashboard.Interval(50*time.Millisecond)))
	pingService(app)
	for round := range 2 { // a flow started again keeps its dashboard
		if err := app.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		base := "http://" + app.Addr().String()
		client := &http.Client{Timeout: 5 * time.Second}
		res, err := client.Get(base + "/dashboard/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(body), "assets/app.js") {
			t.Fatalf("round %d: GET /dashboard/: %d", round, res.StatusCode)
		}
		// The page's stop button calls the management API.
		res, err = client.Post(base+"/admin/services/ping/stop", "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("round %d: stop: %d", round, res.StatusCode)
		}
		if st := boardStatus(t, app); st.Services[0].State != "stopped" {
			t.Fatalf("round %d: dashboard shows %q after stop", round, st.Services[0].State)
		}
		client.CloseIdleConnections()
		if err := app.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMountDashboardPathTaken(t *testing.T) {
	app := flow.New(flow.Logger(dashboardLog))
	app.Service(service.Name("dash"), service.BaseRoute("/dashboard"))
	defer func() {
		if r := recover(); r == nil || !strings.HasPrefix(r.(string), "replicaflow: ") {
			t.Errorf("panic %v, want a replicaflow: panic for a taken path", r)
		}
	}()
	app.MountDashboard()
}
