package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func lookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParseSupervisor(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(c supervisorConfig) bool
		wantErr string
	}{
		{"defaults", nil, nil, func(c supervisorConfig) bool {
			return c.Addr == "127.0.0.1:8100" && c.Failures == 3 && c.Successes == 2 && c.Grace == time.Minute && c.RegisterPath == "/register"
		}, ""},
		{"env", nil, map[string]string{"REPLICAFLOW_TOKEN": "t", "REPLICAFLOW_HEALTH_GRACE": "5s", "REPLICAFLOW_ADDR": "127.0.0.1:9"},
			func(c supervisorConfig) bool {
				return c.Token == "t" && c.Grace == 5*time.Second && c.Addr == "127.0.0.1:9"
			}, ""},
		{"flags beat env", []string{"-token", "f", "-failures", "5"}, map[string]string{"REPLICAFLOW_TOKEN": "e"},
			func(c supervisorConfig) bool { return c.Token == "f" && c.Failures == 5 }, ""},
		{"bad env", nil, map[string]string{"REPLICAFLOW_HEALTH_GRACE": "soon"}, nil, "REPLICAFLOW_HEALTH_GRACE"},
		{"redis without secret", []string{"-redis", "redis://127.0.0.1:6379/0"}, nil, nil, "redis-secret"},
		{"bad addr", []string{"-addr", "nowhere"}, nil, nil, "-addr"},
		{"zero failures", []string{"-failures", "0"}, nil, nil, "-failures"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseSupervisor(tt.args, lookup(tt.env), &bytes.Buffer{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.check(c) {
				t.Fatalf("%+v %v", c, err)
			}
		})
	}
}

func TestParseGateway(t *testing.T) {
	c, err := parseGateway([]string{"-no-management", "-store", "x.json", "-timeout", "2s"}, lookup(nil), &bytes.Buffer{})
	if err != nil || !c.DisableManagement || c.StorePath != "x.json" || c.Timeout != 2*time.Second || c.Addr != "127.0.0.1:5000" {
		t.Fatalf("%+v %v", c, err)
	}
	c, err = parseGateway(nil, lookup(map[string]string{"REPLICAFLOW_GATEWAY_NO_MANAGEMENT": "true",
		"REPLICAFLOW_REDIS_URL": "redis://127.0.0.1:6379/0", "REPLICAFLOW_REDIS_SECRET": "0123456789abcdef"}), &bytes.Buffer{})
	if err != nil || !c.DisableManagement || c.RedisURL == "" {
		t.Fatalf("%+v %v", c, err)
	}
	if _, err := parseGateway([]string{"-redis-store-key", "k"}, lookup(nil), &bytes.Buffer{}); err == nil {
		t.Fatal("store key without redis accepted")
	}
	c, err = parseGateway([]string{"-nats-flow", "shop"}, lookup(map[string]string{"NATS_URL": "nats://127.0.0.1:4222"}), &bytes.Buffer{})
	if err != nil || c.NATSURL != "nats://127.0.0.1:4222" || c.NATSFlow != "shop" {
		t.Fatalf("NATS settings: %+v %v", c, err)
	}
}

func TestRunUsageAndShutdown(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), nil, lookup(nil), &out); err == nil || !strings.Contains(out.String(), "usage") {
		t.Fatalf("no command: %v %q", err, out.String())
	}
	if err := run(context.Background(), []string{"frobnicate"}, lookup(nil), &out); err == nil {
		t.Fatal("unknown command accepted")
	}
	// A started supervisor returns cleanly when its context ends (SIGTERM).
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"supervisor", "-addr", "127.0.0.1:0"}, lookup(nil), &out) }()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not shut down")
	}
}
