package flow

import (
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Timeouts bound how long a client may take over a request, so that a
// stalled client can neither hold a connection forever nor delay a graceful
// shutdown. A zero field takes its default; a negative one turns that bound
// off (net/http's zero values bound nothing at all).
type Timeouts struct {
	// ReadHeader bounds reading a request's headers. Default 10s.
	ReadHeader time.Duration
	// BodyRead bounds the wait for each read of a request body (a read
	// gets at least half of it and at most all of it): a slow upload that
	// keeps moving is not cut, one that stalls is (the request fails with a
	// 4xx). Default 30s.
	BodyRead time.Duration
	// Idle bounds how long a keep-alive connection waits for its next
	// request. Default 120s.
	Idle time.Duration
}

func (t Timeouts) withDefaults() Timeouts {
	def := func(d *time.Duration, v time.Duration) {
		switch {
		case *d == 0:
			*d = v
		case *d < 0:
			*d = 0
		}
	}
	def(&t.ReadHeader, 10*time.Second)
	def(&t.BodyRead, 30*time.Second)
	def(&t.Idle, 120*time.Second)
	return t
}

// ServerTimeouts sets the flow's client timeouts (see Timeouts). The header
// and idle bounds apply to the server Start and Run open; the body bound
// applies however the flow is served.
func ServerTimeouts(t Timeouts) Option {
	return func(c *options) { c.timeouts = t.withDefaults() }
}

// bodies tracks the request bodies being read, so that Shutdown can cut the
// reads of clients that stalled instead of waiting for them.
type bodies struct {
	cut  atomic.Bool // shutting down: reads get no more time
	mu   sync.Mutex
	head *deadlineBody // the bodies being read, linked through prev and next
}

func (s *bodies) add(b *deadlineBody) {
	s.mu.Lock()
	b.next = s.head
	if s.head != nil {
		s.head.prev = b
	}
	s.head = b
	s.mu.Unlock()
}

func (s *bodies) remove(b *deadlineBody) {
	s.mu.Lock()
	if b.prev != nil {
		b.prev.next = b.next
	} else {
		s.head = b.next
	}
	if b.next != nil {
		b.next.prev = b.prev
	}
	b.prev, b.next = nil, nil
	s.mu.Unlock()
}

// deadlineBody keeps a read deadline on the connection while a request
// body is read: each read has at least half the wait before it (the deadline
// moves on only when less is left, which spares a call per read), and the
// deadline is cleared at the end of the body.
type deadlineBody struct {
	io.ReadCloser
	w          http.ResponseWriter // its connection's deadlines, through http.ResponseController
	wait       time.Duration
	until      time.Time // the deadline set
	set        *bodies
	prev, next *deadlineBody
	done       bool
}

// watchBody makes r's body bounded by the body timeout, when it has one;
// the caller finishes the body it returns once the request is served.
func (f *Flow) watchBody(w http.ResponseWriter, r *http.Request) *deadlineBody {
	wait := f.cfg.timeouts.BodyRead
	if wait <= 0 || r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil
	}
	// Bound the body from now, read or not: net/http drains an unread body
	// after the handler, and a stalled client must not hold that either.
	until := time.Now().Add(wait)
	if err := http.NewResponseController(w).SetReadDeadline(until); err != nil {
		return nil // a server without deadlines: nothing to bound
	}
	b := &deadlineBody{ReadCloser: r.Body, w: w, wait: wait, until: until, set: &f.bodies}
	f.bodies.add(b)
	r.Body = b
	return b
}

func (b *deadlineBody) setDeadline(t time.Time) {
	http.NewResponseController(b.w).SetReadDeadline(t)
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	if b.done {
		return b.ReadCloser.Read(p)
	}
	switch now := time.Now(); {
	case b.set.cut.Load():
		b.setDeadline(now)
	case b.until.Sub(now) < b.wait/2:
		b.until = now.Add(b.wait)
		b.setDeadline(b.until)
	}
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.finish(err == io.EOF)
	}
	return n, err
}

// finish forgets the body. At its end it clears the deadline, so it cannot
// cut a long response later; after a failed read it leaves the deadline
// passed, so that net/http gives up the connection rather than drain the
// rest of a stalled body.
func (b *deadlineBody) finish(complete bool) {
	if b.done {
		return
	}
	b.done = true
	if complete {
		b.setDeadline(time.Time{})
	}
	b.set.remove(b)
}

// cutStalled ends the body reads in progress at once: at shutdown, a client
// still sending its body is not waited for.
func (s *bodies) cutStalled() {
	s.cut.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	for b := s.head; b != nil; b = b.next {
		b.setDeadline(time.Now())
	}
}
