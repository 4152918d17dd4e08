package endpoint

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"reflect"
	"slices"
	"strings"
	"sync"
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

// Drainer is implemented by a Host that can tell a long call when the
// replica it holds a slot of leaves routing (scale-down, service stop). A
// WebSocket endpoint then tells its handler to go away and, after the close
// grace period, closes the connection with 1001. Without it, connections are
// closed when the host reports it is not ready (a Ready() error method) or
// when the http.Server shuts down.
type Drainer interface {
	// Draining returns a channel closed when the replica of the call whose
	// context (from Enter) is ctx starts to drain.
	Draining(ctx context.Context) <-chan struct{}
}

// readiness is the fallback to Drainer: a service that stops is no longer
// ready.
type readiness interface{ Ready() error }

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

// CloseGrace sets how long a handler has to finish once the server, its
// service or its replica is stopping, before the connection is closed with
// 1001 (default DefaultCloseGrace). Keep it well below the flow's shutdown
// timeout.
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
// with 503 and Retry-After. NewWebSocket panics, saying why, when the route
// is malformed or Req has body, form or file fields (an upgrade has no
// body).
func NewWebSocket[Req any](route string, h WebSocketHandler[Req], opts ...Option) *Endpoint {
	if h == nil {
		panic("replicaflow: WebSocket endpoint " + route + ": nil handler")
	}
	if route == "" {
		route = "/"
	}
	if !strings.HasPrefix(route, "/") {
		panic(fmt.Sprintf("replicaflow: WebSocket endpoint %q: the route must start with /", route))
	}
	route = braceRE.ReplaceAllString(route, ":$1")
	e := &Endpoint{
		Method:    http.MethodGet,
		Route:     route,
		Request:   reflect.TypeFor[Req](),
		Response:  webSocketType,
		Status:    http.StatusSwitchingProtocols,
		WebSocket: true,
	}
	plan, err := requests.NewPlan(e.Request)
	if err != nil {
		panic(fmt.Sprintf("replicaflow: WebSocket endpoint %s: %v", route, err))
	}
	if plan.HasBody || plan.HasForm {
		panic(fmt.Sprintf("replicaflow: WebSocket endpoint %s: %s must bind only path, query, header and cookie fields (an upgrade request has no body); read messages with requests.ReadJSON", route, e.Request))
	}
	e.Plan = plan
	params := RouteParams(route)
	for _, f := range plan.Fields {
		if f.Source == requests.Path && !slices.Contains(params, f.Key) {
			panic(fmt.Sprintf("replicaflow: WebSocket endpoint %s: field %s binds path parameter %q, which the route does not have", route, f.Name, f.Key))
		}
	}
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
	accept := &websocket.AcceptOptions{OriginPatterns: cfg.origins, Subprotocols: cfg.subprotocols}
	return func(c *gin.Context, host Host) {
		r := c.Request
		if !isUpgrade(r) {
			Fail(c, host.Logger(), errUpgradeRequired)
			return
		}
		if origin := r.Header.Get("Origin"); origin != "" && !originAllowed(origin, r.Host, cfg.origins) {
			Fail(c, host.Logger(), responses.Error(http.StatusForbidden, "the origin "+origin+" may not open this WebSocket"))
			return
		}
		var in Req
		if err := plan.Bind(c, &in, -1); err != nil {
			Fail(c, host.Logger(), err)
			return
		}
		ctx, err := host.Enter(c)
		if err != nil {
			Fail(c, host.Logger(), err)
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
		s.serve(ctx, c, host, func(ctx context.Context) error { return h(ctx, in, s.ws) }, e.String())
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

// socket is one live connection of a WebSocket endpoint.
type socket struct {
	conn *websocket.Conn
	ws   *requests.WebSocket
	cfg  wsConfig
	srv  *http.Server // the server it is tracked with, or nil

	awayOnce sync.Once
	away     chan struct{} // closed when the connection must end
	wg       sync.WaitGroup
}

func newSocket(conn *websocket.Conn, r *http.Request, cfg wsConfig) *socket {
	s := &socket{conn: conn, cfg: cfg, away: make(chan struct{})}
	s.ws = requests.NewWebSocket(conn, r, s.away)
	return s
}

// goAway tells the connection to end: the handler sees GoingAway, and the
// connection is closed with 1001 after the grace period.
func (s *socket) goAway() { s.awayOnce.Do(func() { close(s.away) }) }

func (s *socket) isAway() bool {
	select {
	case <-s.away:
		return true
	default:
		return false
	}
}

// serve runs the handler for the connection's life and closes it.
func (s *socket) serve(ctx context.Context, c *gin.Context, host Host, run func(context.Context) error, name string) {
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var drain <-chan struct{}
	if d, ok := host.(Drainer); ok {
		drain = d.Draining(ctx)
	}
	track(s, s.ws.Request(), host, drain == nil)
	defer untrack(s, host)

	// life ends when the handler returns; it stops the helper goroutines.
	life, end := context.WithCancel(context.Background())
	s.wg.Add(1)
	go s.watch(life, drain, cancel)
	if s.cfg.ping > 0 {
		s.wg.Add(1)
		go s.keepAlive(life)
	}

	err := callSafely(hctx, c, run, host.Logger(), name)
	code, reason := s.closeFor(err, host.Logger(), name)
	end()
	s.conn.Close(code, reason)
	s.wg.Wait()
}

// callSafely runs the handler, turning a panic into an error.
func callSafely(ctx context.Context, c *gin.Context, run func(context.Context) error, log *slog.Logger, name string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			responses.HandlePanic(c, log, p, "endpoint", name) // the answer has begun: it only logs
			err = errPanicked
		}
	}()
	return run(ctx)
}

var errPanicked = errors.New("WebSocket handler panicked")

// closeFor chooses the close code and reason for the handler's result.
func (s *socket) closeFor(err error, log *slog.Logger, name string) (websocket.StatusCode, string) {
	var ce websocket.CloseError
	switch {
	case err == nil:
		if s.isAway() {
			return websocket.StatusGoingAway, "server going away"
		}
		return websocket.StatusNormalClosure, ""
	case errors.As(err, &ce):
		return ce.Code, ce.Reason // the peer closed, or the handler chose
	case errors.Is(err, websocket.ErrMessageTooBig):
		return websocket.StatusMessageTooBig, "message too big"
	case s.isAway() && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		return websocket.StatusGoingAway, "server going away"
	case errors.Is(err, errPanicked):
		return websocket.StatusInternalError, "internal error"
	}
	p, _, internal := responses.ProblemFor(err)
	switch {
	case p.Status == http.StatusServiceUnavailable:
		return websocket.StatusTryAgainLater, reason(p.Detail)
	case internal:
		log.Error("WebSocket handler failed", "endpoint", name, "error", err)
		return websocket.StatusInternalError, "internal error"
	case p.Status == 499: // the handler's context ended
		return websocket.StatusNormalClosure, ""
	}
	return websocket.StatusPolicyViolation, reason(p.Detail)
}

// reason trims a close reason to what fits a control frame.
func reason(s string) string {
	const maxReason = 123
	if len(s) <= maxReason {
		return s
	}
	s = s[:maxReason]
	for len(s) > 0 && s[len(s)-1]&0xC0 == 0x80 { // do not cut a UTF-8 sequence
		s = s[:len(s)-1]
	}
	if len(s) > 0 && s[len(s)-1] >= 0xC0 {
		s = s[:len(s)-1]
	}
	return s
}

// watch turns a drain or a shutdown into a going-away close after the grace
// period, then ends the handler's context.
func (s *socket) watch(life context.Context, drain <-chan struct{}, cancel context.CancelFunc) {
	defer s.wg.Done()
	away := (<-chan struct{})(s.away)
	var grace <-chan time.Time
	for {
		select {
		case <-life.Done():
			return
		case <-drain:
			drain = nil
			s.goAway()
		case <-away:
			away = nil
			t := time.NewTimer(s.cfg.grace)
			defer t.Stop()
			grace = t.C
		case <-grace:
			s.conn.Close(websocket.StatusGoingAway, "server going away")
			cancel()
			return
		}
	}
}

// keepAlive pings the client every interval. A ping is answered only while
// something reads the connection, so a missing pong counts only then.
func (s *socket) keepAlive(life context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.ping)
	defer t.Stop()
	for {
		select {
		case <-life.Done():
			return
		case <-t.C:
		}
		reading := s.ws.Reading()
		// Not bound to life: a write cut short by a context closes the
		// connection without a close frame. Close ends a pending Ping.
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ping)
		err := s.conn.Ping(ctx)
		cancel()
		if err != nil && reading && s.ws.Reading() && life.Err() == nil {
			s.conn.CloseNow() // the peer is gone: no handshake to wait for
			return
		}
	}
}

// A group is a set of live sockets: those served by one http.Server (closed
// when it shuts down) or those of one host that cannot tell about drains
// (closed when it stops being ready).
type group struct {
	socks map[*socket]struct{}
	away  bool // the server has shut down
}

var (
	groupsMu sync.Mutex
	servers  = map[*http.Server]*group{}
	hosts    = map[Host]*group{}
)

// readyPoll is how often a host without Drainer is checked.
const readyPoll = 100 * time.Millisecond

// track adds s to its server's group and, if poll, to its host's group.
// Hijacked connections are invisible to http.Server.Shutdown, so the first
// socket of a server registers a shutdown hook on it that sends every socket
// of the server away.
func track(s *socket, r *http.Request, host Host, poll bool) {
	groupsMu.Lock()
	defer groupsMu.Unlock()
	if srv, ok := r.Context().Value(http.ServerContextKey).(*http.Server); ok && srv != nil {
		g := servers[srv]
		if g == nil {
			g = &group{socks: map[*socket]struct{}{}}
			servers[srv] = g
			srv.RegisterOnShutdown(func() { shutdownServer(srv) })
		}
		if g.away {
			s.goAway()
		}
		g.socks[s] = struct{}{}
		s.srv = srv
	}
	if rd, ok := host.(readiness); ok && poll {
		g := hosts[host]
		if g == nil {
			g = &group{socks: map[*socket]struct{}{}}
			hosts[host] = g
			go pollReady(host, rd, g)
		}
		g.socks[s] = struct{}{}
	}
}

func untrack(s *socket, host Host) {
	groupsMu.Lock()
	defer groupsMu.Unlock()
	if g := servers[s.srv]; g != nil {
		delete(g.socks, s)
		if g.away && len(g.socks) == 0 {
			delete(servers, s.srv) // shut down: no socket will come back
		}
	}
	if g := hosts[host]; g != nil {
		delete(g.socks, s)
	}
}

// shutdownServer sends every socket of srv away, now and later.
func shutdownServer(srv *http.Server) {
	groupsMu.Lock()
	defer groupsMu.Unlock()
	g := servers[srv]
	if g == nil {
		return
	}
	g.away = true
	for s := range g.socks {
		s.goAway()
	}
	if len(g.socks) == 0 {
		delete(servers, srv)
	}
}

// pollReady sends a host's sockets away while the host is not ready (it is
// stopping), and ends when the host has no socket left.
func pollReady(host Host, rd readiness, g *group) {
	t := time.NewTicker(readyPoll)
	defer t.Stop()
	for range t.C {
		groupsMu.Lock()
		if len(g.socks) == 0 {
			delete(hosts, host)
			groupsMu.Unlock()
			return
		}
		groupsMu.Unlock()
		if rd.Ready() == nil {
			continue
		}
		groupsMu.Lock()
		for s := range g.socks {
			s.goAway()
		}
		groupsMu.Unlock()
	}
}
