package endpoint_test

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/replicaflow/replicaflow/endpoint"
	"github.com/replicaflow/replicaflow/internal/testutil"
	"github.com/replicaflow/replicaflow/requests"
	"github.com/replicaflow/replicaflow/responses"
)

func noLeaks(t *testing.T) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

var client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// serveWS serves ep on host and returns its ws:// URL.
func serveWS(t *testing.T, ep *endpoint.Endpoint, host endpoint.Host) string {
	t.Helper()
	srv := httptest.NewServer(serve(host, ep))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func dialWS(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	return dialWSWith(t, url, &websocket.DialOptions{HTTPClient: client})
}

func dialWSWith(t *testing.T, url string, opts *websocket.DialOptions) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, opts)
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

// TestWebSocketDrainClosesGoingAway checks that the sockets of a replica
// that drains (its service stops or scales down) are told to go away and
// closed with 1001 after the grace period, giving their slots back.
func TestWebSocketDrainClosesGoingAway(t *testing.T) {
	noLeaks(t)
	host := newTestHost(3, nil)
	var sawAway atomic.Int32
	ep := endpoint.NewWebSocket("/", func(ctx context.Context, _ struct{}, conn *requests.WebSocket) error {
		_, _, err := conn.Read(ctx) // blocks until the close after the grace period
		select {
		case <-conn.GoingAway():
			sawAway.Add(1)
		default:
		}
		return err
	}, endpoint.CloseGrace(50*time.Millisecond))
	url := serveWS(t, ep, host)
	conns := []*websocket.Conn{dialWS(t, url), dialWS(t, url)}
	testutil.WaitFor(t, "both sockets to hold a slot", 5*time.Second, func() bool { return host.inUse() == 2 })
	close(host.drain)
	for _, c := range conns {
		if ce := closeError(t, c); ce.Code != websocket.StatusGoingAway {
			t.Errorf("close %v, want going away", ce)
		}
	}
	testutil.WaitFor(t, "the slots to be given back", 5*time.Second, func() bool { return host.inUse() == 0 })
	if sawAway.Load() != 2 {
		t.Errorf("%d handlers saw GoingAway, want 2", sawAway.Load())
	}
}

// TestWebSocketDrainLetsHandlerFinish checks that a handler that ends on
// GoingAway within the grace period closes as it chooses.
func TestWebSocketDrainLetsHandlerFinish(t *testing.T) {
	noLeaks(t)
	host := newTestHost(1, nil)
	ep := endpoint.NewWebSocket("/", func(ctx context.Context, _ struct{}, conn *requests.WebSocket) error {
		<-conn.GoingAway()
		conn.WriteJSON(ctx, "bye")
		return nil
	}, endpoint.CloseGrace(time.Minute))
	c := dialWS(t, serveWS(t, ep, host))
	testutil.WaitFor(t, "the socket to hold a slot", 5*time.Second, func() bool { return host.inUse() == 1 })
	close(host.drain)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, msg, err := c.Read(ctx); err != nil || string(msg) != `"bye"` {
		t.Fatalf("read %q %v, want the handler's goodbye", msg, err)
	}
	if ce := closeError(t, c); ce.Code != websocket.StatusGoingAway {
		t.Errorf("close %v, want going away", ce)
	}
}

// TestWebSocketRefusals checks the answers to upgrades that cannot be
// served: they are problem details, sent before the upgrade.
func TestWebSocketRefusals(t *testing.T) {
	ep := endpoint.NewWebSocket("/rooms/{room}", func(context.Context, struct {
		Room int `path:"room"`
	}, *requests.WebSocket) error {
		return nil
	})
	upgrade := http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket"}, "Sec-Websocket-Version": {"13"},
		"Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}}
	tests := []struct {
		name   string
		slots  int
		path   string
		header http.Header
		status int
		check  string // "Key: value" that must be present
	}{
		{"plain HTTP", 1, "/rooms/1", nil, http.StatusUpgradeRequired, "Upgrade: websocket"},
		{"foreign origin", 1, "/rooms/1", http.Header{"Origin": {"https://evil.example"}}, http.StatusForbidden, ""},
		{"bad input", 1, "/rooms/x", nil, http.StatusUnprocessableEntity, ""},
		{"no free slot", 0, "/rooms/1", nil, http.StatusServiceUnavailable, "Retry-After: 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tt.path, nil)
			if tt.status != http.StatusUpgradeRequired {
				maps.Copy(req.Header, upgrade)
			}
			maps.Copy(req.Header, tt.header)
			w := httptest.NewRecorder()
			serve(newTestHost(tt.slots, nil), ep).ServeHTTP(w, req)
			if w.Code != tt.status || w.Header().Get("Content-Type") != responses.ProblemContentType {
				t.Fatalf("%d %s: %s", w.Code, w.Header().Get("Content-Type"), w.Body)
			}
			if tt.check != "" {
				k, v, _ := strings.Cut(tt.check, ": ")
				if w.Header().Get(k) != v {
					t.Fatalf("%s: %q, want %q", k, w.Header().Get(k), v)
				}
			}
		})
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
		{"panic", nil, websocket.StatusInternalError, "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := endpoint.NewWebSocket("/", func(context.Context, struct{}, *requests.WebSocket) error {
				if tt.name == "panic" {
					panic("handler bug")
				}
				return tt.err
			})
			c := dialWS(t, serveWS(t, ep, newTestHost(1, nil)))
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
	url := serveWS(t, ep, newTestHost(2, nil))

	// A client that reads answers the pings and stays connected.
	var pings atomic.Int32
	alive := dialWSWith(t, url, &websocket.DialOptions{HTTPClient: client, OnPingReceived: func(context.Context, []byte) bool {
		pings.Add(1)
		return true // answer it
	}})
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
	// Three more pings answered: a client that had failed to answer would
	// have been dropped by now.
	seen := pings.Load()
	testutil.WaitFor(t, "three more pings", 5*time.Second, func() bool { return pings.Load() >= seen+3 })
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
