package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// common holds the flags both roles share.
type common struct {
	Addr        string
	Token       string
	RedisURL    string
	RedisSecret string
	RedisPrefix string
}

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

func commonFlags(fs *flag.FlagSet, e *env, c *common, defAddr string) {
	fs.StringVar(&c.Addr, "addr", e.str("REPLICAFLOW_ADDR", defAddr), "listen address (REPLICAFLOW_ADDR)")
	fs.StringVar(&c.Token, "token", e.str("REPLICAFLOW_TOKEN", ""), "bearer token required by calls that change the cluster; empty: loopback clients only (REPLICAFLOW_TOKEN)")
	fs.StringVar(&c.RedisURL, "redis", e.str("REPLICAFLOW_REDIS_URL", ""), "Redis URL, e.g. redis://127.0.0.1:6379/0; empty: in memory / on disk (REPLICAFLOW_REDIS_URL)")
	fs.StringVar(&c.RedisSecret, "redis-secret", e.str("REPLICAFLOW_REDIS_SECRET", ""), "secret sealing the Redis entries, at least 16 bytes; required with -redis (REPLICAFLOW_REDIS_SECRET)")
	fs.StringVar(&c.RedisPrefix, "redis-prefix", e.str("REPLICAFLOW_REDIS_PREFIX", "replicaflow:reg:"), "prefix of the registry's Redis keys (REPLICAFLOW_REDIS_PREFIX)")
}

func (c common) check() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("-addr %q: %v", c.Addr, err)
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
	commonFlags(fs, e, &c.common, "127.0.0.1:8100")
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
	return c, c.check()
}

func parseGateway(args []string, lookup func(string) (string, bool), stderr io.Writer) (gatewayConfig, error) {
	e := &env{lookup: lookup}
	var c gatewayConfig
	fs := flag.NewFlagSet("replicaflow gateway", flag.ContinueOnError)
	fs.SetOutput(stderr)
	commonFlags(fs, e, &c.common, "127.0.0.1:5000")
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
	return c, c.check()
}
