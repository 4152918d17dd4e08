package manage_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"

	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/manage"
	"github.com/replicaflow/replicaflow/service"
)

// A service class is a named constructor; the management API makes
// instances of it while the flow serves.
func ExampleClasses_Register() {
	classes := manage.NewClasses()
	classes.Register("greeter", func(name string, opts ...service.Option) *service.Service {
		svc := service.New(opts...) // the instance's name, route and ManualStart
		flow.Endpoint(svc, "GET", "/", func(context.Context, struct{}) (string, error) {
			return "hello from " + name, nil
		})
		return svc
	}, manage.Autostart())

	app := flow.New(flow.Logger(slog.New(slog.DiscardHandler)), flow.Management(manage.Options{Classes: classes}))
	defer app.Shutdown(context.Background())

	call := func(method, path, body string) {
		req := httptest.NewRequest(method, "http://localhost"+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = "127.0.0.1:40000" // no token set: loopback clients only
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, req)
		fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	call("POST", "/admin/services/register", `{"service_name": "greeter", "instance_name": "eu"}`)
	call("GET", "/eu", "")
	call("GET", "/admin/services", "")
	call("DELETE", "/admin/services/eu", "")
	call("GET", "/eu", "")
	// Output:
	// 200 {"status":"registered","service":"eu","type":"greeter"}
	// 200 "hello from eu"
	// 200 {"services":[{"name":"eu","state":"running","is_configured":false,"error":null}]}
	// 200 {"status":"deregistered","service":"eu"}
	// 404 {"type":"about:blank","title":"Not Found","status":404,"detail":"no service at /eu","instance":"/eu"}
}
