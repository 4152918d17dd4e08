package endpoint_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
	"github.com/gin-gonic/gin"
	"go.uber.org/goleak"

	"github.com/replicaflow/replicaflow/endpoint"
	"github.com/replicaflow/replicaflow/requests"
	"github.com/replicaflow/replicaflow/responses"
)

// slotHost is an endpoint.Host with a fixed number of slots that can tell a
// call its replica drains (endpoint.Drainer).
type slotHost struct {
	slots chan struct{}
	drain chan struct{}
}

func newSlotHost(n int) *slotHost {
	return &slotHost{slots: make(chan struct{}, n), drain: make(chan struct{})}
}

func (h *slotHost) Enter(c *gin.Context) (context.Context, error) {
	select {
	case h.slots <- struct{}{}:
		return c, nil
	default:
		return nil, responses.Error(http.StatusServiceUnavailable, "full")
	}
}

func (h *slotHost) Leave(context.Context)                    { <-h.slots }
func (h *slotHost) Logger() *slog.Logger                     { return slog.New(slog.DiscardHandler) }
func (h *slotHost) Draining(context.Context) <-chan struct{} { return h.drain }

func noLeaks(t *testing.T) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

var client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// serveWS serves ep on host and returns its ws:// URL.
func serveWS(t *testing.T, ep *endpoint.Endpoint, host endpoint.Host) string {
	t.Helper()
	gin.SetMode(gin.TestMode)
	e := gin.New()
	e.Handle(ep.Method, ep.Route, ep.Handler(host))
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func dialWS(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func closeError(t *testing.T, c *websocket.Conn) websocket.CloseError {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("the connection ended without a close frame: %v", err)
		}
		return ce
	}
}

func TestNewWebSocketPanics(t *testing.T) {
	type body struct {
		Name string `json:"name"`
	}
	type form struct {
		Name string `form:"name"`
	}
	type path struct {
		ID int `path:"id"`
	}
	h := func(context.Context, struct{}, *requests.WebSocket) error { return nil }
	tests := []struct {
		name string
		make func()
		want string
	}{
		{"body field", func() {
			endpoint.NewWebSocket("/", func(context.Context, body, *requests.WebSocket) error { return nil })
		}, "no body"},
		{"form field", func() {
			endpoint.NewWebSocket("/", func(context.Context, form, *requests.WebSocket) error { return nil })
		}, "no body"},
		{"whole body", func() {
			endpoint.NewWebSocket("/", func(context.Context, string, *requests.WebSocket) error { return nil })
		}, "no body"},
		{"missing path parameter", func() {
			endpoint.NewWebSocket("/", func(context.Context, path, *requests.WebSocket) error { return nil })
		}, `path parameter "id"`},
		{"relative route", func() { endpoint.NewWebSocket("ws", h) }, "must start with /"},
		{"nil handler", func() { endpoint.NewWebSocket[struct{}]("/", nil) }, "nil handler"},
		{"bad origin pattern", func() { endpoint.NewWebSocket("/", h, endpoint.AllowOrigins("[")) }, "bad pattern"},
		{"WebSocket option on an HTTP endpoint", func() {
			endpoint.New("GET", "/", func(context.Context, struct{}) (int, error) { return 0, nil }, endpoint.ReadLimit(10))
		}, "WebSocket endpoints only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				p := recover()
				msg, _ := p.(string)
				if !strings.HasPrefix(msg, "replicaflow: ") || !strings.Contains(msg, tt.want) {
					t.Errorf("panic %v, want a replicaflow: message with %q", p, tt.want)
				}
			}()
			tt.make()
		})
	}
}

func TestNewWebSocketDescribes(t *testing.T) {
	ep := endpoint.NewWebSocket("/rooms/{room}", func(context.Context, struct {
		Room string `path:"room"`
	}, *requests.WebSocket) error {
		return nil
	}, endpoint.Summary("chat"))
	if ep.Method != "GET" || ep.Route != "/rooms/:room" || !ep.WebSocket || ep.Status != http.StatusSwitchingProtocols || ep.Summary != "chat" {
		t.Errorf("endpoint %+v", ep)
	}
}

func TestWebSocketDrainClosesGoingAway(t *testing.T) {
	noLeaks(t)
	host := newSlotHost(2)
	var sawAway atomic.Bool
	ep := endpoint.NewWebSocket("/", func(ctx context.Context, _ struct{}, conn *requests.WebSocket) error {
		_, _, err := conn.Read(ctx) // blocks until the close after the grace period
		select {
		case <-conn.GoingAway():
			sawAway.Store(true)
		default:
		}
		return err
	}, endpoint.CloseGrace(50*time.Millisecond))
	c := dialWS(t, serveWS(t, ep, host))
	close(host.drain)
	if ce := closeError(t, c); ce.Code != websocket.StatusGoingAway {
		t.Errorf("close %v, want going away", ce)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(host.slots) > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if len(host.slots) != 0 {
		t.Error("the slot was not given back")
	}
	if !sawAway.Load() {
		t.Error("the handler did not see GoingAway")
	}
}

func TestWebSocketCloseReasons(t *testing.T) {
	noLeaks(t)
	long := strings.Repeat("é", 100) // 200 bytes: too long for a close frame
	tests := []struct {
		name   string
		err    error
		code   websocket.StatusCode
		reason string
	}{
		{"nil", nil, websocket.StatusNormalClosure, ""},
		{"chosen code", websocket.CloseError{Code: 4000, Reason: "bye"}, 4000, "bye"},
		{"client error", responses.Error(http.StatusBadRequest, "bad move"), websocket.StatusPolicyViolation, "bad move"},
		{"unavailable", responses.Error(http.StatusServiceUnavailable, "later"), websocket.StatusTryAgainLater, "later"},
		{"internal", errors.New("db password wrong"), websocket.StatusInternalError, "internal error"},
		{"long reason", responses.Error(http.StatusBadRequest, long), websocket.StatusPolicyViolation, long[:122]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := endpoint.NewWebSocket("/", func(context.Context, struct{}, *requests.WebSocket) error { return tt.err })
			c := dialWS(t, serveWS(t, ep, newSlotHost(1)))
			ce := closeError(t, c)
			if ce.Code != tt.code || ce.Reason != tt.reason || !utf8.ValidString(ce.Reason) {
				t.Errorf("close %d %q, want %d %q", ce.Code, ce.Reason, tt.code, tt.reason)
			}
		})
	}
}

func TestWebSocketKeepAlive(t *testing.T) {
	noLeaks(t)
	ended := make(chan error, 2)
	ep := endpoint.NewWebSocket("/", func(ctx context.Context, _ struct{}, conn *requests.WebSocket) error {
		_, _, err := conn.Read(ctx)
		ended <- err
		return err
	}, endpoint.PingInterval(20*time.Millisecond))
	url := serveWS(t, ep, newSlotHost(2))

	// A client that reads answers the pings and stays connected.
	alive := dialWS(t, url)
	readErr := make(chan error, 1)
	go func() {
		_, _, err := alive.Read(context.Background())
		readErr <- err
	}()
	// A client that never reads does not answer: it is dropped.
	dialWS(t, url)
	select {
	case err := <-ended:
		if err == nil {
			t.Fatal("the handler read a message nobody sent")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the silent client was not dropped")
	}
	time.Sleep(100 * time.Millisecond) // five ping intervals
	select {
	case err := <-ended:
		t.Fatalf("the responsive client was dropped too: %v", err)
	default:
	}
	alive.Close(websocket.StatusNormalClosure, "")
	<-readErr // the client's reader may race its own Close: any end will do
	if err := <-ended; websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Errorf("the responsive client's handler ended with %v, want its normal closure", err)
	}
}
