package flow_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/gin-gonic/gin"
	"go.uber.org/goleak"

	"github.com/replicaflow/replicaflow/endpoint"
	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/internal/testutil"
	"github.com/replicaflow/replicaflow/requests"
	"github.com/replicaflow/replicaflow/responses"
	"github.com/replicaflow/replicaflow/service"
)

type wsChatIn struct {
	Room string `path:"room"`
	Name string `query:"name" binding:"required,alphanum"`
}

type wsChatMsg struct {
	Text string `json:"text" binding:"required,min=1"`
}

type wsChatOut struct {
	Room    string `json:"room"`
	Name    string `json:"name"`
	Text    string `json:"text,omitempty"`
	Replica int64  `json:"replica,omitempty"`
	Error   string `json:"error,omitempty"`
}

func wsQuiet() flow.Option { return flow.Logger(slog.New(slog.DiscardHandler)) }

// wsURL turns an httptest server URL and a path into a ws:// URL.
func wsURL(base, path string) string { return "ws" + strings.TrimPrefix(base, "http") + path }

// dial connects with a bounded context.
func wsDial(t *testing.T, url string, opts *websocket.DialOptions) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if opts == nil {
		opts = &websocket.DialOptions{}
	}
	opts.HTTPClient = wsClient
	return websocket.Dial(ctx, url, opts)
}

// wsClient keeps no idle connection, so that no goroutine outlives a test.
var wsClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// wsNoLeaks checks, after every other cleanup of the test, that the test
// left no goroutine behind.
func wsNoLeaks(t *testing.T) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

func wsReadJSON[T any](t *testing.T, c *websocket.Conn) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, p, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var v T
	if err := json.Unmarshal(p, &v); err != nil {
		t.Fatalf("decode %s: %v", p, err)
	}
	return v
}

func wsWrite(t *testing.T, c *websocket.Conn, s string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// closeStatus reads until the connection ends and returns its close code.
func wsCloseStatus(t *testing.T, c *websocket.Conn, within time.Duration) websocket.StatusCode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for {
		if _, _, err := c.Read(ctx); err != nil {
			if ctx.Err() != nil {
				t.Fatalf("the connection was not closed within %v", within)
			}
			return websocket.CloseStatus(err)
		}
	}
}

// chatApp is a flow with one WebSocket endpoint that echoes typed messages,
// with a replica-scoped dependency.
func wsChatApp(t *testing.T, flowOpts []flow.Option, svcOpts []service.Option, epOpts ...endpoint.Option) (*flow.Flow, *service.Service) {
	t.Helper()
	app := flow.New(append([]flow.Option{wsQuiet()}, flowOpts...)...)
	svc := app.Service(append([]service.Option{service.BaseRoute("/chat")}, svcOpts...)...)
	var replicas atomic.Int64
	dep := service.NewDependency(svc, service.ReplicaScope, func(context.Context) (int64, error) {
		return replicas.Add(1), nil
	}, nil)
	flow.WebSocket(svc, "/rooms/{room}", func(ctx context.Context, in wsChatIn, conn *requests.WebSocket) error {
		replica, err := dep.Get(ctx)
		if err != nil {
			return err
		}
		for {
			msg, err := requests.ReadJSON[wsChatMsg](ctx, conn)
			var bad *requests.Error
			switch {
			case errors.As(err, &bad):
				if err := conn.WriteJSON(ctx, wsChatOut{Room: in.Room, Name: in.Name, Error: bad.Error()}); err != nil {
					return err
				}
				continue
			case err != nil:
				return err
			case msg.Text == "quit":
				return nil
			case msg.Text == "fail":
				return responses.Error(http.StatusBadRequest, "you asked for it")
			case msg.Text == "panic":
				panic("boom")
			}
			if err := conn.WriteJSON(ctx, wsChatOut{Room: in.Room, Name: in.Name, Text: msg.Text, Replica: replica}); err != nil {
				return err
			}
		}
	}, epOpts...)
	return app, svc
}

func wsServe(t *testing.T, app *flow.Flow) *httptest.Server {
	t.Helper()
	if err := app.StartServices(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app.Handler())
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := app.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return srv
}

func TestWebSocketEchoTypedJSON(t *testing.T) {
	wsNoLeaks(t)
	app, svc := wsChatApp(t, nil, nil)
	srv := wsServe(t, app)

	c, resp, err := wsDial(t, wsURL(srv.URL, "/chat/rooms/lobby?name=ada"), nil)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	defer c.CloseNow()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, text := range []string{"hello", "world"} {
		wsWrite(t, c, `{"text":"`+text+`"}`)
		got := wsReadJSON[wsChatOut](t, c)
		want := wsChatOut{Room: "lobby", Name: "ada", Text: text, Replica: got.Replica}
		if got != want || got.Replica < 1 {
			t.Errorf("got %+v, want %+v with a replica number", got, want)
		}
	}
	// A message that does not validate reaches the handler as an error; the
	// connection stays open.
	wsWrite(t, c, `{"text":""}`)
	if got := wsReadJSON[wsChatOut](t, c); !strings.Contains(got.Error, "body.text") {
		t.Errorf("validation error %q does not name body.text", got.Error)
	}
	wsWrite(t, c, `{"nope":1}`)
	if got := wsReadJSON[wsChatOut](t, c); got.Error == "" {
		t.Errorf("an unknown field was accepted: %+v", got)
	}

	// The connection holds a replica slot for its life.
	if n := svc.Status().Replicas.InFlight; n != 1 {
		t.Errorf("in flight while connected = %d, want 1", n)
	}
	wsWrite(t, c, `{"text":"quit"}`)
	if code := wsCloseStatus(t, c, 5*time.Second); code != websocket.StatusNormalClosure {
		t.Errorf("close code %v, want normal closure", code)
	}
	testutil.WaitFor(t, "the slot to be released", 5*time.Second, func() bool { return svc.Status().Replicas.InFlight == 0 })
}

func TestWebSocketCloseCodes(t *testing.T) {
	wsNoLeaks(t)
	app, svc := wsChatApp(t, nil, nil, endpoint.ReadLimit(64))
	srv := wsServe(t, app)

	tests := []struct {
		name string
		send string
		want websocket.StatusCode
	}{
		{"too large", `{"text":"` + strings.Repeat("x", 200) + `"}`, websocket.StatusMessageTooBig},
		{"client error", `{"text":"fail"}`, websocket.StatusPolicyViolation},
		{"panic", `{"text":"panic"}`, websocket.StatusInternalError},
		{"not JSON, returned", `]`, -1}, // answered, not closed: see below
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := wsDial(t, wsURL(srv.URL, "/chat/rooms/r?name=bo"), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			wsWrite(t, c, tt.send)
			if tt.want == -1 {
				if got := wsReadJSON[wsChatOut](t, c); got.Error == "" {
					t.Fatalf("malformed JSON was not reported: %+v", got)
				}
				c.Close(websocket.StatusNormalClosure, "")
				return
			}
			if code := wsCloseStatus(t, c, 5*time.Second); code != tt.want {
				t.Errorf("close code %v, want %v", code, tt.want)
			}
		})
	}
	// After a panic the replica still serves.
	c, _, err := wsDial(t, wsURL(srv.URL, "/chat/rooms/r?name=bo"), nil)
	if err != nil {
		t.Fatal(err)
	}
	wsWrite(t, c, `{"text":"hi"}`)
	if got := wsReadJSON[wsChatOut](t, c); got.Text != "hi" {
		t.Errorf("after a panic: %+v", got)
	}
	c.Close(websocket.StatusNormalClosure, "")
	testutil.WaitFor(t, "the slots to be released", 5*time.Second, func() bool { return svc.Status().Replicas.InFlight == 0 })
}

func TestWebSocketRefusedBeforeUpgrade(t *testing.T) {
	wsNoLeaks(t)
	app, svc := wsChatApp(t, nil, nil, endpoint.AllowOrigins("*.example.com"))
	srv := wsServe(t, app)

	tests := []struct {
		name   string
		path   string
		origin string
		status int
		detail string
	}{
		{"missing query", "/chat/rooms/a", "", http.StatusUnprocessableEntity, "query.name"},
		{"invalid query", "/chat/rooms/a?name=a%20b", "", http.StatusUnprocessableEntity, "query.name"},
		{"foreign origin", "/chat/rooms/a?name=ada", "https://evil.test", http.StatusForbidden, "origin"},
		{"no route", "/chat/nowhere", "", http.StatusNotFound, ""},
		{"allowed origin", "/chat/rooms/a?name=ada", "https://app.example.com", http.StatusSwitchingProtocols, ""},
		{"same origin", "/chat/rooms/a?name=ada", "same", http.StatusSwitchingProtocols, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := &websocket.DialOptions{HTTPHeader: http.Header{}}
			if tt.origin == "same" {
				opts.HTTPHeader.Set("Origin", srv.URL)
			} else if tt.origin != "" {
				opts.HTTPHeader.Set("Origin", tt.origin)
			}
			c, resp, err := wsDial(t, wsURL(srv.URL, tt.path), opts)
			if tt.status == http.StatusSwitchingProtocols {
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				c.Close(websocket.StatusNormalClosure, "")
				return
			}
			if err == nil {
				c.CloseNow()
				t.Fatal("the upgrade was accepted")
			}
			if resp == nil || resp.StatusCode != tt.status {
				t.Fatalf("got %v, want status %d", resp, tt.status)
			}
			if ct := resp.Header.Get("Content-Type"); ct != responses.ProblemContentType {
				t.Errorf("content type %q", ct)
			}
			var p responses.Problem
			body, _ := io.ReadAll(resp.Body)
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatalf("problem %s: %v", body, err)
			}
			if !strings.Contains(string(body), tt.detail) {
				t.Errorf("problem %s does not mention %q", body, tt.detail)
			}
		})
	}

	// A plain GET is told to upgrade.
	res, err := wsClient.Get(srv.URL + "/chat/rooms/a?name=ada")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUpgradeRequired || res.Header.Get("Upgrade") != "websocket" {
		t.Errorf("plain GET: %d, Upgrade %q", res.StatusCode, res.Header.Get("Upgrade"))
	}
	testutil.WaitFor(t, "the slots to be released", 5*time.Second, func() bool { return svc.Status().Replicas.InFlight == 0 })
}

func TestWebSocketCapacityFull(t *testing.T) {
	wsNoLeaks(t)
	app, _ := wsChatApp(t, nil, []service.Option{
		service.Replicas(1, 1),
		service.MaxConcurrentQueries(1),
		service.TargetOngoingRequests(1),
		service.MaxQueuedRequests(0), // no queue
	})
	srv := wsServe(t, app)
	url := wsURL(srv.URL, "/chat/rooms/a?name=ada")

	first, _, err := wsDial(t, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	wsWrite(t, first, `{"text":"hi"}`)
	wsReadJSON[wsChatOut](t, first) // surely holding the slot

	c, resp, err := wsDial(t, url, nil)
	if err == nil {
		c.CloseNow()
		t.Fatal("a second connection was accepted past max concurrent queries")
	}
	if resp == nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("got %v, want 503 with Retry-After", resp)
	}
	if ct := resp.Header.Get("Content-Type"); ct != responses.ProblemContentType {
		t.Errorf("content type %q", ct)
	}

	first.Close(websocket.StatusNormalClosure, "")
	var again *websocket.Conn
	testutil.WaitFor(t, "the slot to be free again", 5*time.Second, func() bool {
		c, _, err := wsDial(t, url, nil)
		again = c
		return err == nil
	})
	again.Close(websocket.StatusNormalClosure, "")
}

// A handler that only waits for GoingAway, says goodbye and returns.
func wsPoliteHandler(ctx context.Context, _ struct{}, conn *requests.WebSocket) error {
	readCtx := conn.CloseRead(ctx)
	select {
	case <-conn.GoingAway():
		return conn.WriteJSON(ctx, map[string]string{"bye": "now"})
	case <-readCtx.Done():
		return nil
	}
}

func TestWebSocketShutdownGoesAway(t *testing.T) {
	wsNoLeaks(t)
	app, svc := wsChatApp(t, []flow.Option{flow.Address("127.0.0.1:0")}, nil, endpoint.CloseGrace(100*time.Millisecond))
	flow.WebSocket(svc, "/polite", wsPoliteHandler, endpoint.CloseGrace(5*time.Second))
	flow.WebSocket(svc, "/stubborn", func(ctx context.Context, _ struct{}, conn *requests.WebSocket) error {
		conn.CloseRead(ctx)
		<-ctx.Done() // ignores GoingAway: closed after the grace period
		return ctx.Err()
	}, endpoint.CloseGrace(100*time.Millisecond))
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	base := "ws://" + app.Addr().String()

	chat, _, err := wsDial(t, base+"/chat/rooms/a?name=ada", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer chat.CloseNow()
	wsWrite(t, chat, `{"text":"hi"}`)
	wsReadJSON[wsChatOut](t, chat)
	polite, _, err := wsDial(t, base+"/chat/polite", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer polite.CloseNow()
	stubborn, _, err := wsDial(t, base+"/chat/stubborn", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stubborn.CloseNow()
	testutil.WaitFor(t, "three connections in flight", 5*time.Second, func() bool { return svc.Status().Replicas.InFlight == 3 })

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		done <- app.Shutdown(ctx)
	}()

	if code := wsCloseStatus(t, chat, 10*time.Second); code != websocket.StatusGoingAway {
		t.Errorf("reading client: close code %v, want going away", code)
	}
	if got := wsReadJSON[map[string]string](t, polite); got["bye"] != "now" {
		t.Errorf("polite handler said %v", got)
	}
	if code := wsCloseStatus(t, polite, 10*time.Second); code != websocket.StatusGoingAway {
		t.Errorf("polite client: close code %v, want going away", code)
	}
	if code := wsCloseStatus(t, stubborn, 10*time.Second); code != websocket.StatusGoingAway {
		t.Errorf("stubborn client: close code %v, want going away", code)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("shutdown: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("shutdown hangs")
	}
	if st := svc.State(); st != service.Stopped {
		t.Errorf("service %s after shutdown", st)
	}
}

func TestWebSocketServiceStopGoesAway(t *testing.T) {
	wsNoLeaks(t)
	app, svc := wsChatApp(t, nil, nil, endpoint.CloseGrace(50*time.Millisecond))
	srv := wsServe(t, app)
	c, _, err := wsDial(t, wsURL(srv.URL, "/chat/rooms/a?name=ada"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	wsWrite(t, c, `{"text":"hi"}`)
	wsReadJSON[wsChatOut](t, c)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- svc.Stop(ctx) }()
	if code := wsCloseStatus(t, c, 10*time.Second); code != websocket.StatusGoingAway {
		t.Errorf("close code %v, want going away", code)
	}
	if err := <-stopped; err != nil {
		t.Errorf("stop: %v", err)
	}
	// A stopped service refuses the upgrade.
	_, resp, err := wsDial(t, wsURL(srv.URL, "/chat/rooms/a?name=ada"), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("dial a stopped service: %v, %v", resp, err)
	}
}

func TestWebSocketMiddlewareAndDocs(t *testing.T) {
	wsNoLeaks(t)
	app, svc := wsChatApp(t, nil, nil)
	svc.Use(func(c *gin.Context) {
		if c.GetHeader("X-Token") != "secret" {
			responses.AbortWithProblem(c, responses.NewProblem(http.StatusUnauthorized, "no token", nil), nil)
			return
		}
		c.Next()
	})
	srv := wsServe(t, app)
	url := wsURL(srv.URL, "/chat/rooms/a?name=ada")
	if _, resp, err := wsDial(t, url, nil); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without the token: %v, %v", resp, err)
	}
	c, _, err := wsDial(t, url, &websocket.DialOptions{HTTPHeader: http.Header{"X-Token": {"secret"}}})
	if err != nil {
		t.Fatalf("with the token: %v", err)
	}
	c.Close(websocket.StatusNormalClosure, "")

	res, err := wsClient.Get(srv.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]any `json:"responses"`
		} `json:"paths"`
	}
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	get, ok := doc.Paths["/chat/rooms/{room}"]["get"]
	if !ok {
		t.Fatalf("the WebSocket route is not documented as a GET: %v", doc.Paths)
	}
	for _, code := range []string{"101", "422", "503"} {
		if _, ok := get.Responses[code]; !ok {
			t.Errorf("no %s response documented: %v", code, get.Responses)
		}
	}
}

func ExampleWebSocket() {
	app := flow.New(flow.Logger(slog.New(slog.DiscardHandler)))
	svc := app.Service(service.BaseRoute("/echo"))
	type In struct {
		Name string `query:"name" binding:"required"`
	}
	type Msg struct {
		Text string `json:"text"`
	}
	flow.WebSocket(svc, "/", func(ctx context.Context, in In, conn *requests.WebSocket) error {
		for {
			m, err := requests.ReadJSON[Msg](ctx, conn)
			if err != nil {
				return err
			}
			if err := conn.WriteJSON(ctx, Msg{Text: in.Name + ": " + m.Text}); err != nil {
				return err
			}
		}
	})
	srv := httptest.NewServer(app.Handler())
	defer srv.Close()
	defer app.Shutdown(context.Background())

	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/echo?name=ada", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	c.Write(ctx, websocket.MessageText, []byte(`{"text":"hi"}`))
	_, reply, _ := c.Read(ctx)
	fmt.Println(string(reply))
	c.Close(websocket.StatusNormalClosure, "bye")

	_, res, _ := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/echo", nil)
	fmt.Println(res.StatusCode, res.Header.Get("Content-Type"))
	// Output:
	// {"text":"ada: hi"}
	// 422 application/problem+json
}
