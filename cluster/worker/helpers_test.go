package worker_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// lateSupervisor is a server whose supervisor is not there yet: until
// arrive, every call has its connection dropped, as an unreachable
// supervisor's would fail, and is counted.
type lateSupervisor struct {
	URL      string // the server's base URL
	attempts atomic.Int32
	sup      atomic.Pointer[http.Handler]
}

func newLateSupervisor(t *testing.T) *lateSupervisor {
	t.Helper()
	l := &lateSupervisor{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := l.sup.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		l.attempts.Add(1)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			http.Error(w, "away", http.StatusServiceUnavailable)
			return
		}
		conn.Close()
	}))
	t.Cleanup(srv.Close)
	l.URL = srv.URL
	return l
}

// Attempts returns how many calls failed before the supervisor arrived.
func (l *lateSupervisor) Attempts() int { return int(l.attempts.Load()) }

// Arrive serves every later call with h.
func (l *lateSupervisor) Arrive(h http.Handler) { l.sup.Store(&h) }
