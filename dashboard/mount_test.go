package dashboard_test

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
	"github.com/replicaflow/replicaflow/internal/testutil"
	"github.com/replicaflow/replicaflow/manage"
	"github.com/replicaflow/replicaflow/service"
)

var quiet = flow.Logger(slog.New(slog.DiscardHandler))

type pong struct {
	OK bool `json:"ok"`
}

func pingService(app *flow.Flow) {
	svc := app.Service(service.Name("ping"), service.BaseRoute("/ping"), service.Replicas(1, 3))
	flow.Endpoint(svc, "GET", "/", func(context.Context, struct{}) (pong, error) { return pong{true}, nil })
}

// get sends GET path to h from a loopback client, with a bearer token when
// token is set, and returns the answer.
func get(h http.Handler, path, token string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "http://127.0.0.1"+path, nil) // a loopback Host, as the guard wants
	r.RemoteAddr = "127.0.0.1:9"
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// boardStatus reads the dashboard's status document through h as a
// loopback client.
func boardStatus(t *testing.T, h http.Handler, token string) dashboard.Status {
	t.Helper()
	w := get(h, "/dashboard/api/status", token)
	if w.Code != http.StatusOK {
		t.Fatalf("status endpoint: %d %s", w.Code, w.Body)
	}
	var st dashboard.Status
	if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// A flow served only through its Handler, in any server, serves the
// dashboard: it is mounted when the flow is made.
func TestMountUnderHandler(t *testing.T) {
	t.Setenv(manage.TokenEnv, "")
	app := flow.New(quiet, flow.Info("shop", "1", ""), dashboard.Mount())
	pingService(app)
	srv := httptest.NewServer(app.Handler())
	defer srv.Close()
	defer app.Shutdown(context.Background())

	for _, tt := range []struct{ path, want string }{
		{"/dashboard/", "assets/app.js"},
		{"/dashboard/assets/app.js", "fetch"},
		{"/dashboard/api/status", `"title":"shop"`},
	} {
		res, err := http.Get(srv.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(string(body), tt.want) {
			t.Fatalf("GET %s: %d, want 200 with %q: %.200s", tt.path, res.StatusCode, tt.want, body)
		}
	}
	st := boardStatus(t, app, "")
	if !st.Metrics || st.Admin != "/admin" || len(st.Services) != 1 || st.Services[0].Name != "ping" {
		t.Fatalf("status %+v", st)
	}
}

// The sampler runs from the flow's start to its shutdown, reads the flow's
// metrics, and a flow started again keeps its dashboard.
func TestMountSamplesWhileTheFlowRuns(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent(),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
	t.Setenv(manage.TokenEnv, "")
	app := flow.New(flow.Address("127.0.0.1:0"), quiet, dashboard.Mount(dashboard.Interval(20*time.Millisecond)))
	pingService(app)
	for round := range 2 {
		if err := app.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		base := "http://" + app.Addr().String()
		client := &http.Client{Timeout: 5 * time.Second}
		for range 10 {
			res, err := client.Get(base + "/ping")
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
		}
		want := float64(10 * (round + 1))
		testutil.WaitFor(t, "the dashboard counting the requests", 10*time.Second, func() bool {
			tr := boardStatus(t, app, "").Services[0].Traffic
			return tr != nil && tr.Requests == want
		})
		// The page's stop button calls the management API.
		res, err := client.Post(base+"/admin/services/ping/stop", "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("round %d: stop: %d", round, res.StatusCode)
		}
		if st := boardStatus(t, app, ""); st.Services[0].State != "stopped" {
			t.Fatalf("round %d: dashboard shows %q after stop", round, st.Services[0].State)
		}
		client.CloseIdleConnections()
		if err := app.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// The dashboard takes its token and its buttons' prefix from the flow's
// management API; its own options win.
func TestMountFollowsTheManagementAPI(t *testing.T) {
	tests := []struct {
		name      string
		env       string
		opts      []flow.Option
		board     []dashboard.Option
		token     string // the token the status endpoint needs ("" none)
		wantAdmin string
	}{
		{"defaults", "", nil, nil, "", "/admin"},
		{"the API's token from the environment", "s3cret", nil, nil, "s3cret", "/admin"},
		{"the API's own token and prefix", "", []flow.Option{flow.Management(manage.Options{Token: "tok", Prefix: "/ops"})}, nil, "tok", "/ops"},
		{"the API off: no buttons", "s3cret", []flow.Option{flow.Management(manage.Options{Disabled: true})}, nil, "", ""},
		{"the dashboard's options win", "s3cret", nil, []dashboard.Option{dashboard.Token("mine"), dashboard.Admin("/elsewhere")}, "mine", "/elsewhere"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(manage.TokenEnv, tt.env)
			app := flow.New(append([]flow.Option{quiet, dashboard.Mount(tt.board...)}, tt.opts...)...)
			defer app.Shutdown(context.Background())
			if tt.token != "" {
				if w := get(app, "/dashboard/api/status", ""); w.Code != http.StatusUnauthorized {
					t.Fatalf("status without the token: %d, want 401", w.Code)
				}
			}
			if st := boardStatus(t, app, tt.token); st.Admin != tt.wantAdmin {
				t.Fatalf("buttons call %q, want %q", st.Admin, tt.wantAdmin)
			}
		})
	}
}

func TestMountPanics(t *testing.T) {
	tests := []struct {
		name, want string
		f          func()
	}{
		{"a service at the path", "collides with the flow's own route /dashboard", func() {
			flow.New(quiet, dashboard.Mount()).Service(service.BaseRoute("/dashboard"))
		}},
		{"the path taken", "/admin is already taken", func() {
			flow.New(quiet, dashboard.Mount(dashboard.Path("/admin")))
		}},
		{"one option, two flows", "another flow", func() {
			m := dashboard.Mount()
			flow.New(quiet, m)
			flow.New(quiet, m)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { testutil.MustPanic(t, tt.want, tt.f) })
	}
}
