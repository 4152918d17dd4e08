// Package gateway routes /{name_service}/... to the healthy instances of a
// service: the upstreams registered through its management API (the seed's
// POST /service, DELETE /service, GET /services, PATCH /services) and the
// instances in a registry. It balances by in-flight requests, retries
// idempotent requests on another instance when a connection fails, streams
// bodies unchanged, and answers every error as RFC 9457 problem details.
package gateway

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"sync"
	"time"

	"github.com/replicaflow/replicaflow/registry"
)

// Options configures a Gateway. Zero values take the defaults.
type Options struct {
	// Registry, when set, adds its routable instances to each service's
	// upstreams. While it cannot be reached, the gateway keeps routing to
	// the instances it last listed (and keeps health-checking them); a
	// service it never listed gets 503 with Retry-After, not 404.
	Registry registry.Registry
	// Store keeps the management API's entries across restarts; default
	// FileStore{Path: DefaultStorePath}.
	Store Store
	// Token protects the management API; empty means loopback clients only.
	Token string
	// DisableManagement turns the management API off (the seed's
	// service_management=False).
	DisableManagement bool
	// Timeout is how long an upstream may take to start answering before
	// the client gets 504 (default 30s). A streamed body may run longer.
	Timeout time.Duration
	// CheckInterval is how often the entries are health-checked (default
	// 10s); CheckTimeout bounds one check (default 3s).
	CheckInterval, CheckTimeout time.Duration
	// Cooldown is how long an upstream whose connection failed is left out
	// of routing before it is tried again (default 5s; a passing health
	// check brings it back sooner).
	Cooldown time.Duration
	// MaxAttempts bounds the instances one idempotent request is tried on
	// (default 3).
	MaxAttempts int
	// MaxReplayBody is the largest request body buffered so an idempotent
	// request can be retried (default 1 MiB); larger bodies are streamed
	// and not retried.
	MaxReplayBody int64
	// RetryAfter is the Retry-After of a 503 (default 1s).
	RetryAfter time.Duration
	// Transport reaches the upstreams; default a clone of
	// http.DefaultTransport with Timeout as its response-header timeout.
	Transport http.RoundTripper
	// Logger receives upstream failures; default slog.Default().
	Logger *slog.Logger
	// Remote, when set, serves the services with no upstream through NATS.
	Remote Remote
}

// DefaultStorePath is the file the entries are kept in by default.
const DefaultStorePath = "replicaflow-gateway.json"

// Gateway is the gateway's http.Handler.
type Gateway struct {
	opts  Options
	proxy *httputil.ReverseProxy
	mgmt  *http.ServeMux

	mu      sync.Mutex // guards entries, nextID and upstream selection
	entries []Entry
	nextID  int
	ups     map[string]*upstream // by base URL

	cacheMu sync.Mutex
	cache   map[string]cached // registry lookups by service name

	stopOnce sync.Once
	stop     chan struct{}
	wg       sync.WaitGroup
}

type cached struct {
	list []registry.Instance
	at   time.Time
}

// registryCacheTTL bounds how stale a registry lookup may be.
const registryCacheTTL = 500 * time.Millisecond

// New loads the stored entries and returns a gateway; Start begins the
// periodic health checks.
func New(ctx context.Context, opts Options) (*Gateway, error) {
	if opts.Store == nil {
		opts.Store = FileStore{Path: DefaultStorePath}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.CheckInterval <= 0 {
		opts.CheckInterval = 10 * time.Second
	}
	if opts.CheckTimeout <= 0 {
		opts.CheckTimeout = 3 * time.Second
	}
	if opts.Cooldown <= 0 {
		opts.Cooldown = 5 * time.Second
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 3
	}
	if opts.MaxReplayBody <= 0 {
		opts.MaxReplayBody = 1 << 20
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ResponseHeaderTimeout = opts.Timeout
		t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		t.MaxIdleConnsPerHost = 64
		opts.Transport = t
	}
	entries, err := opts.Store.Load(ctx)
	if err != nil {
		return nil, err
	}
	g := &Gateway{opts: opts, entries: entries, ups: map[string]*upstream{},
		cache: map[string]cached{}, stop: make(chan struct{})}
	for _, e := range entries {
		g.nextID = max(g.nextID, e.ID)
	}
	g.proxy = &httputil.ReverseProxy{
		Rewrite:       rewrite,
		Transport:     opts.Transport,
		FlushInterval: -1,
		ErrorHandler:  recordError,
		ErrorLog:      slog.NewLogLogger(opts.Logger.Handler(), slog.LevelDebug),
	}
	if !opts.DisableManagement {
		g.mgmt = g.managementRoutes()
	}
	return g, nil
}

// Start health-checks the entries now and then every CheckInterval, until
// Close.
func (g *Gateway) Start(ctx context.Context) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		t := time.NewTicker(g.opts.CheckInterval)
		defer t.Stop()
		for {
			g.CheckAll(ctx)
			select {
			case <-ctx.Done():
				return
			case <-g.stop:
				return
			case <-t.C:
			}
		}
	}()
}

// Close stops the health checks and closes idle upstream connections.
func (g *Gateway) Close() error {
	g.stopOnce.Do(func() { close(g.stop) })
	g.wg.Wait()
	if t, ok := g.opts.Transport.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
	return nil
}

// ServeHTTP serves the management API (unless disabled) and proxies the
// rest.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.mgmt != nil && (r.URL.Path == "/service" || r.URL.Path == "/services") {
		g.mgmt.ServeHTTP(w, r)
		return
	}
	g.serveProxy(w, r)
}
