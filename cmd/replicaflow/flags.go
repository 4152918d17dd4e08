package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/joho/godotenv"
)

// common holds the flags both roles share.
type common struct {
	Addr        string
	Token       string
	RedisURL    string
	RedisSecret string
	RedisPrefix string
	Timeouts    timeouts
}

// timeouts bound how long the role's server waits for a client.
type timeouts struct {
	// ReadHeader is how long a client may take to send a request's headers.
	ReadHeader time.Duration
	// Body is the longest a request body may pause: each read of the body
	// must bring bytes within it, so a slow upload that keeps sending
	// meets it while a client that stops is dropped.
	Body time.Duration
	// Idle is how long a kept-alive connection may wait for its next
	// request.
	Idle time.Duration
	// Shutdown is the graceful shutdown's budget: connections still open
	// after it are closed.
	Shutdown time.Duration
}

// The timeouts' defaults.
const (
	defaultReadHeaderTimeout = 10 * time.Second
	defaultBodyTimeout       = 10 * time.Second
	defaultIdleTimeout       = 2 * time.Minute
	defaultShutdownTimeout   = 10 * time.Second
)

// supervisorConfig is the supervisor's command line.
type supervisorConfig struct {
	common
	RegisterPath    string
	Failures        int
	Successes       int
	Grace           time.Duration
	DefaultInterval time.Duration
	Timeout         time.Duration
}

// gatewayConfig is the gateway's command line.
type gatewayConfig struct {
	common
	StorePath         string
	RedisStoreKey     string
	DisableManagement bool
	Timeout           time.Duration
	CheckInterval     time.Duration
	NATSURL           string
	NATSFlow          string
}

// withDotEnv returns lookup backed by the variables of the .env file at path,
// read as the cluster's workers read theirs: a variable of the environment
// wins over the file's, and a missing file is no error.
func withDotEnv(lookup func(string) (string, bool), path string) (func(string) (string, bool), error) {
	file, err := godotenv.Read(path)
	if os.IsNotExist(err) {
		return lookup, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return func(k string) (string, bool) {
		if v, ok := lookup(k); ok {
			return v, true
		}
		v, ok := file[k]
		return v, ok
	}, nil
}

// env reads the environment defaults of the flags.
type env struct {
	lookup func(string) (string, bool)
	errs   []error
}

func (e *env) str(key, def string) string {
	if v, ok := e.lookup(key); ok && v != "" {
		return v
	}
	return def
}

// parse reads key with conv, keeping def when it is unset and recording an
// error naming the variable when conv fails.
func parse[T any](e *env, key string, def T, want string, conv func(string) (T, error)) T {
	v := e.str(key, "")
	if v == "" {
		return def
	}
	x, err := conv(v)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s=%q is not %s", key, v, want))
		return def
	}
	return x
}

func (e *env) dur(key string, def time.Duration) time.Duration {
	return parse(e, key, def, "a duration such as 10s", func(v string) (time.Duration, error) {
		d, err := time.ParseDuration(v)
		if err == nil && d < 0 {
			err = errNegative
		}
		return d, err
	})
}

func (e *env) num(key string, def int) int {
	return parse(e, key, def, "a whole number", func(v string) (int, error) {
		n, err := strconv.Atoi(v)
		if err == nil && n < 0 {
			err = errNegative
		}
		return n, err
	})
}

func (e *env) boolean(key string) bool {
	return parse(e, key, false, "true or false", strconv.ParseBool)
}

var errNegative = errors.New("negative")

// isSet reports whether the flag name was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// roleUsage prints the role's synopsis and flags, saying where their defaults
// come from.
func roleUsage(fs *flag.FlagSet, what string) func() {
	return func() {
		fmt.Fprintf(fs.Output(), `usage: %s [flags]

%s

Each flag's default comes from the environment variable in brackets; a .env
file in the working directory supplies the variables the environment does not
set. A flag given on the command line wins over both.

`, fs.Name(), what)
		fs.PrintDefaults()
	}
}

// addr returns the listen address the environment asks for: REPLICAFLOW_ADDR,
// else API_BIND and API_PORT, the variables a worker's configuration uses
// (either may be missing: the other half then comes from def), else def. An
// error names the variable whose value is bad.
func (e *env) addr(def string) (string, error) {
	if v := e.str("REPLICAFLOW_ADDR", ""); v != "" {
		return v, nil
	}
	host, port, err := net.SplitHostPort(def)
	if err != nil {
		panic("replicaflow: bad default address " + def)
	}
	if v := strings.TrimSpace(e.str("API_BIND", "")); v != "" {
		if net.ParseIP(v) == nil && v != "localhost" {
			return def, fmt.Errorf("API_BIND=%q is not an IP address", v)
		}
		host = v
	}
	if v := strings.TrimSpace(e.str("API_PORT", "")); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 0 || n > 65535 {
			return def, fmt.Errorf("API_PORT=%q is not a port number (0-65535, 0 for any free port)", v)
		}
		port = v
	}
	return net.JoinHostPort(host, port), nil
}

// commonFlags declares the flags both roles share. The listen address's
// environment is read through e.addr; its error is returned apart, as it
// matters only when -addr is not given.
func commonFlags(fs *flag.FlagSet, e *env, c *common, defAddr string) (addrErr error) {
	envAddr, addrErr := e.addr(defAddr)
	fs.StringVar(&c.Addr, "addr", envAddr, "listen address; the first one set wins: -addr, REPLICAFLOW_ADDR, API_BIND and API_PORT\n"+
		"(either alone keeps the other half of "+defAddr+"), "+defAddr)
	fs.StringVar(&c.Token, "token", e.str("REPLICAFLOW_TOKEN", ""), "bearer token required by calls that change the cluster; empty: loopback clients only (REPLICAFLOW_TOKEN)")
	fs.StringVar(&c.RedisURL, "redis", e.str("REPLICAFLOW_REDIS_URL", ""), "Redis URL, e.g. redis://127.0.0.1:6379/0; empty: in memory / on disk (REPLICAFLOW_REDIS_URL)")
	fs.StringVar(&c.RedisSecret, "redis-secret", e.str("REPLICAFLOW_REDIS_SECRET", ""), "secret sealing the Redis entries, at least 16 bytes; required with -redis (REPLICAFLOW_REDIS_SECRET)")
	fs.StringVar(&c.RedisPrefix, "redis-prefix", e.str("REPLICAFLOW_REDIS_PREFIX", "replicaflow:reg:"), "prefix of the registry's Redis keys (REPLICAFLOW_REDIS_PREFIX)")
	fs.DurationVar(&c.Timeouts.ReadHeader, "read-header-timeout", e.dur("REPLICAFLOW_READ_HEADER_TIMEOUT", defaultReadHeaderTimeout),
		"how long a client may take to send a request's headers (REPLICAFLOW_READ_HEADER_TIMEOUT)")
	fs.DurationVar(&c.Timeouts.Body, "body-timeout", e.dur("REPLICAFLOW_BODY_TIMEOUT", defaultBodyTimeout),
		"longest pause in a request body: a client that sends nothing for this long is dropped,\n"+
			"a slow upload that keeps sending is not (REPLICAFLOW_BODY_TIMEOUT)")
	fs.DurationVar(&c.Timeouts.Idle, "idle-timeout", e.dur("REPLICAFLOW_IDLE_TIMEOUT", defaultIdleTimeout),
		"how long a kept-alive connection may wait for its next request (REPLICAFLOW_IDLE_TIMEOUT)")
	fs.DurationVar(&c.Timeouts.Shutdown, "shutdown-timeout", e.dur("REPLICAFLOW_SHUTDOWN_TIMEOUT", defaultShutdownTimeout),
		"on SIGINT or SIGTERM, how long requests in flight may finish before their connections\n"+
			"are closed (REPLICAFLOW_SHUTDOWN_TIMEOUT)")
	return addrErr
}

// check validates the shared flags once parsed. addrErr is the error of the
// address's environment, which counts only when -addr was not given.
func (c common) check(fs *flag.FlagSet, addrErr error) error {
	if addrErr != nil && !isSet(fs, "addr") {
		return addrErr
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("-addr %q: %v", c.Addr, err)
	}
	for _, t := range []struct {
		name string
		d    time.Duration
	}{
		{"-read-header-timeout", c.Timeouts.ReadHeader}, {"-body-timeout", c.Timeouts.Body},
		{"-idle-timeout", c.Timeouts.Idle}, {"-shutdown-timeout", c.Timeouts.Shutdown},
	} {
		if t.d <= 0 {
			return fmt.Errorf("%s must be positive, not %v", t.name, t.d)
		}
	}
	if c.RedisURL != "" && len(c.RedisSecret) < 16 {
		return errors.New("-redis needs -redis-secret (REPLICAFLOW_REDIS_SECRET) of at least 16 bytes")
	}
	return nil
}

func parseSupervisor(args []string, lookup func(string) (string, bool), stderr io.Writer) (supervisorConfig, error) {
	e := &env{lookup: lookup}
	var c supervisorConfig
	fs := flag.NewFlagSet("replicaflow supervisor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = roleUsage(fs, "Accept worker registrations and health-check the workers.")
	addrErr := commonFlags(fs, e, &c.common, "127.0.0.1:8100")
	fs.StringVar(&c.RegisterPath, "register-path", e.str("REPLICAFLOW_REGISTER_PATH", "/register"), "path workers register at (REPLICAFLOW_REGISTER_PATH)")
	fs.IntVar(&c.Failures, "failures", e.num("REPLICAFLOW_HEALTH_FAILURES", 3), "consecutive failed checks before unhealthy (REPLICAFLOW_HEALTH_FAILURES)")
	fs.IntVar(&c.Successes, "successes", e.num("REPLICAFLOW_HEALTH_SUCCESSES", 2), "consecutive passed checks before healthy again (REPLICAFLOW_HEALTH_SUCCESSES)")
	fs.DurationVar(&c.Grace, "grace", e.dur("REPLICAFLOW_HEALTH_GRACE", time.Minute), "how long unhealthy before removal (REPLICAFLOW_HEALTH_GRACE)")
	fs.DurationVar(&c.DefaultInterval, "interval", e.dur("REPLICAFLOW_HEALTH_INTERVAL", 30*time.Second), "check interval of registrations without one (REPLICAFLOW_HEALTH_INTERVAL)")
	fs.DurationVar(&c.Timeout, "check-timeout", e.dur("REPLICAFLOW_HEALTH_TIMEOUT", 3*time.Second), "timeout of one health check (REPLICAFLOW_HEALTH_TIMEOUT)")
	if err := errors.Join(e.errs...); err != nil {
		return c, err
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	if c.Failures < 1 || c.Successes < 1 {
		return c, errors.New("-failures and -successes must be at least 1")
	}
	return c, c.check(fs, addrErr)
}

func parseGateway(args []string, lookup func(string) (string, bool), stderr io.Writer) (gatewayConfig, error) {
	e := &env{lookup: lookup}
	var c gatewayConfig
	fs := flag.NewFlagSet("replicaflow gateway", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = roleUsage(fs, "Route /{service}/... to the healthy instances of a service.")
	addrErr := commonFlags(fs, e, &c.common, "127.0.0.1:5000")
	fs.StringVar(&c.StorePath, "store", e.str("REPLICAFLOW_GATEWAY_STORE", "replicaflow-gateway.json"), "JSON file keeping the managed services (REPLICAFLOW_GATEWAY_STORE)")
	fs.StringVar(&c.RedisStoreKey, "redis-store-key", e.str("REPLICAFLOW_GATEWAY_REDIS_KEY", ""), "keep the managed services in this Redis key instead of the file (REPLICAFLOW_GATEWAY_REDIS_KEY)")
	fs.BoolVar(&c.DisableManagement, "no-management", e.boolean("REPLICAFLOW_GATEWAY_NO_MANAGEMENT"), "turn the service management API off (REPLICAFLOW_GATEWAY_NO_MANAGEMENT)")
	fs.DurationVar(&c.Timeout, "timeout", e.dur("REPLICAFLOW_GATEWAY_TIMEOUT", 30*time.Second), "upstream answer timeout, then 504 (REPLICAFLOW_GATEWAY_TIMEOUT)")
	fs.DurationVar(&c.CheckInterval, "check-interval", e.dur("REPLICAFLOW_HEALTH_INTERVAL", 10*time.Second), "health-check interval of the upstreams (REPLICAFLOW_HEALTH_INTERVAL)")
	fs.StringVar(&c.NATSURL, "nats", e.str("NATS_URL", ""), "route services with no upstream through NATS to distributed-mode workers (NATS_URL)")
	fs.StringVar(&c.NATSFlow, "nats-flow", e.str("REPLICAFLOW_NATS_FLOW", ""), "the workers' flow name on NATS (REPLICAFLOW_NATS_FLOW; default the workers' default)")
	if err := errors.Join(e.errs...); err != nil {
		return c, err
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	if c.RedisStoreKey != "" && c.RedisURL == "" {
		return c, errors.New("-redis-store-key needs -redis")
	}
	return c, c.check(fs, addrErr)
}
