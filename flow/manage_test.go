package flow_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/internal/testutil"
	"github.com/replicaflow/replicaflow/manage"
	"github.com/replicaflow/replicaflow/service"
)

func manageClasses() *manage.Classes {
	cs := manage.NewClasses()
	cs.Register("echo", func(name string, opts ...service.Option) *service.Service {
		svc := service.New(opts...)
		flow.Endpoint(svc, "GET", "/", func(context.Context, struct{}) (string, error) { return name, nil })
		return svc
	}, manage.Autostart())
	return cs
}

// TestManagementOption serves the management API of a started flow over a
// real loopback connection: it lists the flow's own services, registers and
// removes one, and reports the flow's version and state.
func TestManagementOption(t *testing.T) {
	t.Setenv(manage.TokenEnv, "")
	app := flow.New(
		flow.Address("127.0.0.1:0"),
		flow.Logger(slog.New(slog.DiscardHandler)),
		flow.Info("t", "9.9.9", ""),
		flow.Management(manage.Options{Prefix: "/ops", Classes: manageClasses()}),
	)
	app.Service(service.BaseRoute("/static"))
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		app.Shutdown(ctx)
	}()
	base := "http://" + app.Addr().String()
	do := func(method, path, body string, want int) []byte {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != want {
			t.Fatalf("%s %s: got %d, want %d: %s", method, path, res.StatusCode, want, b)
		}
		return b
	}
	var st manage.AppStatus
	json.Unmarshal(do("GET", "/ops/", "", 200), &st)
	if st.Version != "9.9.9" || st.State != "running" || st.Services["static"].State != service.Running {
		t.Fatalf("GET /ops/ gave %+v", st)
	}
	do("POST", "/ops/services/register", `{"service_name": "echo", "instance_name": "e1"}`, 200)
	if b := do("GET", "/e1", "", 200); string(b) != `"e1"` {
		t.Fatalf("GET /e1 gave %s", b)
	}
	do("DELETE", "/ops/services/e1", "", 200)
	do("GET", "/e1", "", 404)
	do("DELETE", "/ops/services/static", "", 200) // services added in Go are managed too
	do("GET", "/static", "", 404)
}

// TestManagementPrefix checks that the management API's prefix is the
// flow's own route: a service cannot take it, and moving the API frees
// "/admin".
func TestManagementPrefix(t *testing.T) {
	quiet := flow.Logger(slog.New(slog.DiscardHandler))
	cases := []struct {
		name  string
		opts  []flow.Option
		route string // a service's base route
		panic string // "" when the service fits
	}{
		{"a service at the default prefix", nil, "/admin", "collides with the flow's own route /admin"},
		{"a service at a moved prefix", []flow.Option{flow.Management(manage.Options{Prefix: "/ops"})}, "/ops", "collides with the flow's own route /ops"},
		{"the default prefix once moved", []flow.Option{flow.Management(manage.Options{Prefix: "/ops"})}, "/admin", ""},
		{"the default prefix with the API off", []flow.Option{flow.Management(manage.Options{Disabled: true})}, "/admin", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			app := flow.New(append([]flow.Option{quiet}, tc.opts...)...)
			add := func() { app.Service(service.BaseRoute(tc.route)) }
			if tc.panic != "" {
				testutil.MustPanic(t, tc.panic, add)
				return
			}
			add()
			if app.Lookup(strings.TrimPrefix(tc.route, "/")) == nil {
				t.Fatalf("service at %s not attached", tc.route)
			}
		})
	}
}
