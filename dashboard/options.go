package dashboard

import (
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Option configures a Dashboard.
type Option func(*config)

type config struct {
	path     string
	admin    string
	token    string
	gatherer prometheus.Gatherer
	interval time.Duration
	history  time.Duration
	window   time.Duration
	title    string
}

func defaultConfig() config {
	return config{
		path:     "/dashboard",
		admin:    "/admin",
		interval: time.Second,
		history:  5 * time.Minute,
		window:   10 * time.Second,
		title:    "replicaflow",
	}
}

func checkPath(fn, p string, empty bool) {
	if p == "" && empty {
		return
	}
	if !strings.HasPrefix(p, "/") || p == "/" || strings.HasSuffix(p, "/") {
		panic("replicaflow: dashboard." + fn + ": " + `"` + p + `" must be a path like /dashboard`)
	}
}

// Path sets the path the dashboard is served under. Default "/dashboard".
func Path(p string) Option {
	checkPath("Path", p, false)
	return func(c *config) { c.path = p }
}

// Admin sets the prefix of the management API that the start and stop
// buttons call ("" hides the buttons). Default "/admin"; under Mount, the
// flow's management API's, or "" when it is off.
func Admin(prefix string) Option {
	checkPath("Admin", prefix, true)
	return func(c *config) { c.admin = prefix }
}

// Token sets the bearer token the status endpoint requires; with none,
// the dashboard answers loopback clients only. Default: none; under Mount,
// the flow's management API's (manage.Manager.Token).
func Token(token string) Option { return func(c *config) { c.token = token } }

// Metrics sets where request counts and latencies are read from: a registry
// holding replicaflow_http_requests_total and
// replicaflow_http_request_duration_seconds (the flow's). Without it the
// dashboard shows replicas and queues but no traffic figures.
func Metrics(g prometheus.Gatherer) Option { return func(c *config) { c.gatherer = g } }

// Interval sets how often the sampler reads the services. Default 1s.
func Interval(d time.Duration) Option {
	if d <= 0 {
		panic("replicaflow: dashboard.Interval: must be positive")
	}
	return func(c *config) { c.interval = d }
}

// History sets how far back the chart goes. Default 5m.
func History(d time.Duration) Option {
	if d <= 0 {
		panic("replicaflow: dashboard.History: must be positive")
	}
	return func(c *config) { c.history = d }
}

// Window sets the span that requests per second, latency quantiles and the
// error rate are computed over. Default 10s.
func Window(d time.Duration) Option {
	if d <= 0 {
		panic("replicaflow: dashboard.Window: must be positive")
	}
	return func(c *config) { c.window = d }
}

// Title sets the name shown at the top of the page. Default "replicaflow".
func Title(t string) Option { return func(c *config) { c.title = t } }
