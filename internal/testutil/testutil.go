// Package testutil holds the helpers the module's tests share: waiting on an
// observable condition, asserting a registration panic, and the address of
// the NATS server the tests use.
package testutil

import (
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// WaitFor polls cond every 10ms until it holds, failing the test with what
// when it does not within timeout. It waits on state a test can observe; it
// is never a rendezvous by time.
func WaitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// MustPanic runs f and fails the test unless it panics with a string that
// starts with "replicaflow: " and contains want.
func MustPanic(t testing.TB, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		p := recover()
		if p == nil {
			t.Fatalf("no panic, want one containing %q", want)
		}
		msg, _ := p.(string)
		if err, ok := p.(error); ok {
			msg = err.Error()
		}
		if !strings.HasPrefix(msg, "replicaflow: ") || !strings.Contains(msg, want) {
			t.Fatalf("panic %q, want one starting with \"replicaflow: \" containing %q", p, want)
		}
	}()
	f()
}

// NATSURL is the NATS server the tests use: NATS_TEST_URL, else the one the
// CI script starts on 127.0.0.1:4222.
func NATSURL() string {
	if u := os.Getenv("NATS_TEST_URL"); u != "" {
		return u
	}
	return "nats://127.0.0.1:4222"
}

// Buffer collects what several goroutines write (a server's log lines)
// while the test reads it.
type Buffer struct {
	mu sync.Mutex
	b  strings.Builder
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
