// Package env reads PicoAPI's API_* variables, from the environment and
// a .env file, as the seed's table says.
package env

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/joho/godotenv"
)

// Settings are a worker's or supervisor's settings, read from PicoAPI's variables.
type Settings struct {
	Host           string        // API_HOST: where others reach this API
	Port           int           // API_PORT (default 8888; 0 picks a free port)
	Bind           string        // API_BIND: the interface to listen on
	Title          string        // API_TITLE: the service name
	Description    string        // API_DESCRIPTION
	RegisterURL    string        // API_REGISTER_PATH, or its alias API_KEEPER_URL
	HealthPath     string        // API_HEALTH_PATH, e.g. /health
	HealthInterval time.Duration // API_HEALTH_INTERVAL in seconds (default 300)
	Version        string        // API_VERSION (default 0.0.1)
	Tags           []string      // API_TAGS, split on ':'
	CORSOrigins    []string      // API_CORS_ALLOW_ORIGINS, split on '!' (default *)
	CORSMethods    []string      // API_CORS_ALLOW_METHODS, split on '!' (default *)
	CORSHeaders    []string      // API_CORS_ALLOW_HEADERS, split on '!' (default *)
	// Token is sent to the supervisor as a bearer token
	// (REPLICAFLOW_TOKEN, the token every role of the cluster shares).
	Token string
	// CORS reports whether any API_CORS_ALLOW_* variable is set, so a
	// program can install CORS only when it was asked for.
	CORS bool
}

// Addr is the listen address, Bind:Port.
func (c Settings) Addr() string { return net.JoinHostPort(c.Bind, strconv.Itoa(c.Port)) }

// Load reads the variables through lookup (os.LookupEnv in production, a
// map in tests). A bad value is an error naming the variable.
func Load(lookup func(string) (string, bool)) (Settings, error) {
	get := func(k, def string) string {
		if v, ok := lookup(k); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
		return def
	}
	c := Settings{
		Host: get("API_HOST", ""), Bind: get("API_BIND", ""), Title: get("API_TITLE", ""),
		Description: get("API_DESCRIPTION", ""), HealthPath: get("API_HEALTH_PATH", ""),
		Version:     get("API_VERSION", "0.0.1"),
		Token:       get("REPLICAFLOW_TOKEN", ""),
		Tags:        split(get("API_TAGS", ""), ":"),
		CORSOrigins: split(get("API_CORS_ALLOW_ORIGINS", "*"), "!"),
		CORSMethods: split(get("API_CORS_ALLOW_METHODS", "*"), "!"),
		CORSHeaders: split(get("API_CORS_ALLOW_HEADERS", "*"), "!"),
	}
	for _, k := range []string{"API_CORS_ALLOW_ORIGINS", "API_CORS_ALLOW_METHODS", "API_CORS_ALLOW_HEADERS"} {
		if get(k, "") != "" {
			c.CORS = true
		}
	}
	port, err := strconv.Atoi(get("API_PORT", "8888"))
	if err != nil || port < 0 || port > 65535 {
		return Settings{}, fmt.Errorf("env: API_PORT=%q is not a port number (0-65535, 0 for any free port)", get("API_PORT", ""))
	}
	c.Port = port
	secs, err := strconv.ParseFloat(get("API_HEALTH_INTERVAL", "300"), 64)
	if err != nil || secs <= 0 || secs > 1e6 {
		return Settings{}, fmt.Errorf("env: API_HEALTH_INTERVAL=%q is not a positive number of seconds", get("API_HEALTH_INTERVAL", ""))
	}
	c.HealthInterval = time.Duration(secs * float64(time.Second))
	c.RegisterURL = get("API_REGISTER_PATH", get("API_KEEPER_URL", ""))
	if c.RegisterURL != "" {
		u, err := url.Parse(c.RegisterURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			name := "API_REGISTER_PATH"
			if _, ok := lookup("API_REGISTER_PATH"); !ok {
				name = "API_KEEPER_URL"
			}
			return Settings{}, fmt.Errorf("env: %s=%q is not an absolute http(s) URL", name, c.RegisterURL)
		}
	}
	if c.HealthPath != "" && !strings.HasPrefix(c.HealthPath, "/") {
		return Settings{}, fmt.Errorf("env: API_HEALTH_PATH=%q must start with /", c.HealthPath)
	}
	if c.Bind != "" && net.ParseIP(c.Bind) == nil && c.Bind != "localhost" {
		return Settings{}, fmt.Errorf("env: API_BIND=%q is not an IP address", c.Bind)
	}
	return c, nil
}

// Read loads the .env files given (default ".env"; a missing file is
// skipped) under the process environment, which wins, and reads the
// variables. The process environment is not changed.
func Read(files ...string) (Settings, error) {
	if len(files) == 0 {
		files = []string{".env"}
	}
	file := map[string]string{}
	for _, f := range files {
		m, err := godotenv.Read(f)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return Settings{}, fmt.Errorf("env: reading %s: %w", f, err)
		}
		for k, v := range m {
			if _, seen := file[k]; !seen { // the first file wins, as godotenv.Load
				file[k] = v
			}
		}
	}
	return Load(func(k string) (string, bool) {
		if v, ok := os.LookupEnv(k); ok {
			return v, true
		}
		v, ok := file[k]
		return v, ok
	})
}

func split(s, sep string) []string {
	var out []string
	for _, p := range strings.Split(s, sep) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
