package env_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/replicaflow/replicaflow/cluster/env"
)

func lookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestLoadEachVariable(t *testing.T) {
	def, err := env.Load(lookup(nil))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		env   map[string]string
		check func(c env.Settings) any
		want  any
	}{
		{nil, func(c env.Settings) any { return c.Port }, 8888},
		{nil, func(c env.Settings) any { return c.HealthInterval }, 300 * time.Second},
		{nil, func(c env.Settings) any { return c.Version }, "0.0.1"},
		{nil, func(c env.Settings) any { return c.CORSOrigins }, []string{"*"}},
		{map[string]string{"API_HOST": "myhost"}, func(c env.Settings) any { return c.Host }, "myhost"},
		{map[string]string{"API_PORT": "8080"}, func(c env.Settings) any { return c.Port }, 8080},
		{map[string]string{"API_PORT": "0"}, func(c env.Settings) any { return c.Port }, 0},
		{nil, func(c env.Settings) any { return c.CORS }, false},
		{map[string]string{"API_CORS_ALLOW_HEADERS": "X-A"}, func(c env.Settings) any { return c.CORS }, true},
		{map[string]string{"API_BIND": "0.0.0.0"}, func(c env.Settings) any { return c.Bind }, "0.0.0.0"},
		{map[string]string{"API_TITLE": "Example API"}, func(c env.Settings) any { return c.Title }, "Example API"},
		{map[string]string{"API_DESCRIPTION": "short"}, func(c env.Settings) any { return c.Description }, "short"},
		{map[string]string{"API_REGISTER_PATH": "http://keeper:8100/register"}, func(c env.Settings) any { return c.RegisterURL }, "http://keeper:8100/register"},
		{map[string]string{"API_KEEPER_URL": "http://k:8100/register"}, func(c env.Settings) any { return c.RegisterURL }, "http://k:8100/register"},
		{map[string]string{"API_KEEPER_URL": "http://k/a", "API_REGISTER_PATH": "http://r/b"}, func(c env.Settings) any { return c.RegisterURL }, "http://r/b"},
		{map[string]string{"API_HEALTH_PATH": "/health"}, func(c env.Settings) any { return c.HealthPath }, "/health"},
		{map[string]string{"API_HEALTH_INTERVAL": "2.5"}, func(c env.Settings) any { return c.HealthInterval }, 2500 * time.Millisecond},
		{map[string]string{"API_VERSION": "0.0.1-alpha"}, func(c env.Settings) any { return c.Version }, "0.0.1-alpha"},
		{map[string]string{"API_TAGS": "t1:t2:t3"}, func(c env.Settings) any { return c.Tags }, []string{"t1", "t2", "t3"}},
		{map[string]string{"API_CORS_ALLOW_ORIGINS": "http://a!http://b"}, func(c env.Settings) any { return c.CORSOrigins }, []string{"http://a", "http://b"}},
		{map[string]string{"API_CORS_ALLOW_METHODS": "GET!POST"}, func(c env.Settings) any { return c.CORSMethods }, []string{"GET", "POST"}},
		{map[string]string{"API_CORS_ALLOW_HEADERS": "X-A!X-B"}, func(c env.Settings) any { return c.CORSHeaders }, []string{"X-A", "X-B"}},
	}
	_ = def
	for _, tt := range tests {
		c, err := env.Load(lookup(tt.env))
		if err != nil {
			t.Fatalf("%v: %v", tt.env, err)
		}
		if got := tt.check(c); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%v: got %v, want %v", tt.env, got, tt.want)
		}
	}
}

func TestLoadBadValues(t *testing.T) {
	if _, err := env.Load(lookup(map[string]string{"API_PORT": "65536"})); err == nil || !strings.Contains(err.Error(), "API_PORT") {
		t.Errorf("API_PORT=65536: %v", err)
	}
	for k, v := range map[string]string{
		"API_PORT": "eighty", "API_HEALTH_INTERVAL": "-5", "API_REGISTER_PATH": "keeper:8100",
		"API_KEEPER_URL": "ftp://x/y", "API_HEALTH_PATH": "health", "API_BIND": "not an ip",
	} {
		_, err := env.Load(lookup(map[string]string{k: v}))
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%q: error %v does not name the variable", k, v, err)
		}
	}
}

func TestReadFileAndProcessEnv(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, ".env")
	os.WriteFile(f, []byte(`# API config
API_BIND="0.0.0.0"
API_HOST="localhost"
API_PORT="8888"
API_TITLE="test"
API_DESCRIPTION="test description"
API_VERSION="0.0.1-alpha"
API_KEEPER_URL="http://localhost:8100/register"
API_HEALTH_PATH="/health"
API_HEALTH_INTERVAL="300"
`), 0o600)
	t.Setenv("API_PORT", "9999") // the process environment wins over the file
	c, err := env.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	want := env.Settings{Host: "localhost", Port: 9999, Bind: "0.0.0.0", Title: "test",
		Description: "test description", RegisterURL: "http://localhost:8100/register",
		HealthPath: "/health", HealthInterval: 300 * time.Second, Version: "0.0.1-alpha",
		CORSOrigins: []string{"*"}, CORSMethods: []string{"*"}, CORSHeaders: []string{"*"}}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got %+v\nwant %+v", c, want)
	}
	if c.Addr() != "0.0.0.0:9999" {
		t.Fatal(c.Addr())
	}
	if _, err := env.Read(filepath.Join(dir, "missing.env")); err != nil {
		t.Fatalf("missing file: %v", err)
	}
}
