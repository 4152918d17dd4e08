package main

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/replicaflow/replicaflow/flowtest"
)

func TestSessionsAndCORS(t *testing.T) {
	c := flowtest.New(t, NewApp([]byte(strings.Repeat("k", 32)), []string{"http://localhost:3000"}))

	if res := c.Get("/api/me"); res.Status != 401 || res.Header.Get("X-Request-ID") == "" {
		t.Fatalf("without a session: %d, request ID %q", res.Status, res.Header.Get("X-Request-ID"))
	}
	res := c.Post("/api/login", Login{User: "ada"})
	cookie := res.Header.Get("Set-Cookie")
	if res.Status != 200 || !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "SameSite=Lax") {
		t.Fatalf("login: %d, cookie %q", res.Status, cookie)
	}
	req := httptest.NewRequest("GET", "/api/me", nil)
	req.Header.Set("Cookie", strings.Split(cookie, ";")[0])
	req.Header.Set("Origin", "http://localhost:3000")
	res = c.Do(req)
	var me Me
	res.Decode(&me)
	if res.Status != 200 || me.User != "ada" || res.Header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" {
		t.Fatalf("me: %d %+v %v", res.Status, me, res.Header)
	}

	pre := httptest.NewRequest("OPTIONS", "/api/login", nil)
	pre.Header.Set("Origin", "http://evil.example")
	pre.Header.Set("Access-Control-Request-Method", "POST")
	if res := c.Do(pre); res.Status != 403 {
		t.Fatalf("preflight from a foreign origin: %d", res.Status)
	}
}
