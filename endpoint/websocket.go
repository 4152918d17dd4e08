package endpoint

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"reflect"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/requests"
	"github.com/replicaflow/replicaflow/responses"
)

// WebSocketHandler is the function behind a WebSocket endpoint. It gets the
// input bound from the upgrade request and the accepted connection, and runs
// for the connection's whole life, holding one slot of a replica. Its ctx
// carries the replica's dependencies; it ends once the connection is closed
// for good. The returned error chooses the close code (see
// requests.WebSocket).
type WebSocketHandler[Req any] func(ctx context.Context, in Req, conn *requests.WebSocket) error

// Defaults of WebSocket endpoints.
const (
	// DefaultReadLimit caps a message from the client, in bytes.
	DefaultReadLimit = 32 << 10
	// DefaultPingInterval is how often the server pings an idle client.
	DefaultPingInterval = 30 * time.Second
	// DefaultCloseGrace is how long a handler has, once told to go away, to
	// finish before the connection is closed with 1001.
	DefaultCloseGrace = 2 * time.Second
)

// drainer is implemented by a Host that can tell a long call when the
// replica it holds a slot of leaves routing (scale-down, service stop). A
// WebSocket endpoint then tells its handler to go away and, after the close
// grace period, closes the connection with 1001.
type drainer interface {
	// Draining returns a channel closed when the replica of the call whose
	// context (from Enter) is ctx starts to drain.
	Draining(ctx context.Context) <-chan struct{}
}

// wsConfig holds a WebSocket endpoint's settings.
type wsConfig struct {
	readLimit    int64
	ping         time.Duration
	grace        time.Duration
	origins      []string
	subprotocols []string
}

func wsOption(name string, set func(*wsConfig)) Option {
	return func(e *Endpoint) {
		if e.ws == nil {
			panic(fmt.Sprintf("replicaflow: endpoint %s: %s applies to WebSocket endpoints only", e, name))
		}
		set(e.ws)
	}
}

// ReadLimit caps a client's message at n bytes (default DefaultReadLimit). A
// larger message closes the connection with 1009 (message too big). A
// negative n removes the cap.
func ReadLimit(n int64) Option {
	return wsOption("ReadLimit", func(c *wsConfig) {
		if n == 0 {
			n = DefaultReadLimit
		}
		c.readLimit = n
	})
}

// PingInterval sets how often the server pings the client (default
// DefaultPingInterval); zero or less turns the keep-alive off. A client
// that does not answer within the interval, while the handler reads, is
// disconnected.
func PingInterval(d time.Duration) Option {
	return wsOption("PingInterval", func(c *wsConfig) { c.ping = d })
}

// CloseGrace sets how long a handler has to finish once its replica drains
// (its service stops, scales down or shuts down with the flow), before the
// connection is closed with 1001 (default DefaultCloseGrace). Keep it well
// below the flow's shutdown timeout.
func CloseGrace(d time.Duration) Option {
	return wsOption("CloseGrace", func(c *wsConfig) { c.grace = max(d, 0) })
}

// AllowOrigins lets pages from other origins open the WebSocket. By default
// only the same origin may (the Origin header's host must be the request's
// host), which keeps other sites from using a visitor's cookies (cross-site
// WebSocket hijacking). A pattern matches the origin's host ("example.com",
// "*.example.com"), or "scheme://host" when it contains "://", with
// path.Match, case-insensitively. Requests without an Origin header (not
// from a browser) are always allowed.
func AllowOrigins(patterns ...string) Option {
	for _, p := range patterns {
		if _, err := path.Match(strings.ToLower(p), ""); err != nil {
			panic(fmt.Sprintf("replicaflow: AllowOrigins: bad pattern %q: %v", p, err))
		}
	}
	return wsOption("AllowOrigins", func(c *wsConfig) { c.origins = append(c.origins, patterns...) })
}

// Subprotocols lists the subprotocols the endpoint speaks, in order of
// preference; the handler reads the negotiated one from Subprotocol.
func Subprotocols(names ...string) Option {
	return wsOption("Subprotocols", func(c *wsConfig) { c.subprotocols = append(c.subprotocols, names...) })
}

var webSocketType = reflect.TypeFor[*requests.WebSocket]()

// NewWebSocket makes a WebSocket endpoint: a GET on route that binds Req
// from the path, query, headers and cookies exactly like an HTTP endpoint,
// takes a replica slot, upgrades and runs h for the connection's life. Bad
// input is refused before the upgrade with problem details (400, 422), a
// plain HTTP request with 426, a foreign origin with 403, a full service
// with 503 and Retry-After. When the host can tell that the call's replica
// drains (it has a Draining(ctx) <-chan struct{} method, as a service
// does: its replicas drain when it stops or scales down), the handler is
// told to go away and the connection is closed with 1001 after the close
// grace period. NewWebSocket panics, saying why, when the route is
// malformed or Req has body, form or file fields (an upgrade has no body).
func NewWebSocket[Req any](route string, h WebSocketHandler[Req], opts ...Option) *Endpoint {
	e := newEndpoint("WebSocket endpoint", http.MethodGet, route, reflect.TypeFor[Req](), webSocketType, h == nil)
	if e.Plan.HasBody || e.Plan.HasForm {
		panic(fmt.Sprintf("replicaflow: %s: %s must bind only path, query, header and cookie fields (an upgrade request has no body); read messages with requests.ReadJSON", e, e.Request))
	}
	e.Status = http.StatusSwitchingProtocols
	e.WebSocket = true
	e.ws = &wsConfig{readLimit: DefaultReadLimit, ping: DefaultPingInterval, grace: DefaultCloseGrace}
	for _, o := range opts {
		o(e)
	}
	e.serve = wsAdapter(e, h, *e.ws)
	return e
}

// errUpgradeRequired answers a plain HTTP request to a WebSocket endpoint.
var errUpgradeRequired = &responses.HTTPError{
	Status: http.StatusUpgradeRequired,
	Detail: "this endpoint speaks WebSocket: send an upgrade request",
	Header: http.Header{"Upgrade": {"websocket"}, "Connection": {"Upgrade"}},
}

// wsAdapter builds the per-request function of a WebSocket endpoint: check
// the upgrade, bind, enter a replica, accept, serve, close, leave.
func wsAdapter[Req any](e *Endpoint, h WebSocketHandler[Req], cfg wsConfig) func(*gin.Context, Host) {
	plan := e.Plan
	attrs := []any{"endpoint", e.String()}
	accept := &websocket.AcceptOptions{OriginPatterns: cfg.origins, Subprotocols: cfg.subprotocols}
	return func(c *gin.Context, host Host) {
		r := c.Request
		if !isUpgrade(r) {
			fail(c, host.Logger(), errUpgradeRequired)
			return
		}
		if origin := r.Header.Get("Origin"); origin != "" && !originAllowed(origin, r.Host, cfg.origins) {
			fail(c, host.Logger(), responses.Error(http.StatusForbidden, "the origin "+origin+" may not open this WebSocket"))
			return
		}
		var in Req
		if err := plan.Bind(c, &in, -1); err != nil {
			fail(c, host.Logger(), err)
			return
		}
		ctx, err := host.Enter(c)
		if err != nil {
			fail(c, host.Logger(), err)
			return
		}
		defer host.Leave(ctx)
		conn, err := websocket.Accept(c.Writer, r, accept)
		if err != nil {
			// Accept has answered (a malformed handshake).
			host.Logger().Debug("WebSocket upgrade failed", "path", r.URL.Path, "error", err)
			c.Abort()
			return
		}
		conn.SetReadLimit(cfg.readLimit)
		s := newSocket(conn, r, cfg)
		s.serve(ctx, c, host, func(ctx context.Context) error { return h(ctx, in, s.ws) }, attrs)
		c.Abort()
	}
}

// isUpgrade reports whether r asks for a WebSocket upgrade.
func isUpgrade(r *http.Request) bool {
	return r.Method == http.MethodGet &&
		headerHas(r.Header, "Connection", "upgrade") && headerHas(r.Header, "Upgrade", "websocket")
}

func headerHas(h http.Header, key, token string) bool {
	for _, v := range h.Values(key) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// originAllowed applies the same rule as websocket.Accept, so that a refused
// origin gets problem details rather than Accept's plain text.
func originAllowed(origin, host string, patterns []string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, host) {
		return true
	}
	for _, p := range patterns {
		target := u.Host
		if strings.Contains(p, "://") {
			target = u.Scheme + "://" + u.Host
		}
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(target)); ok {
			return true
		}
	}
	return false
}
