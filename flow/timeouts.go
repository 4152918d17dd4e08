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
//
// Times are durations since clockEpoch: reading the monotonic clock alone
// costs half of time.Now, and the body path reads it on every read.
type deadlineBody struct {
	io.ReadCloser
	conn       readDeadliner // the connection's read deadline
	wait       time.Duration
	until      time.Duration // the deadline set, since clockEpoch
	set        *bodies
	prev, next *deadlineBody
	done       bool
}

// readDeadliner is what sets a connection's read deadline: net/http's own
// ResponseWriter, or a ResponseController around a writer that wraps it.
type readDeadliner interface {
	SetReadDeadline(time.Time) error
}

// clockEpoch is the origin of the body clock.
var clockEpoch = time.Now()

// clock reads the monotonic clock, as a duration since clockEpoch.
func clock() time.Duration { return time.Since(clockEpoch) }

// at is the wall time of a clock reading, for a deadline.
func at(d time.Duration) time.Time { return clockEpoch.Add(d) }

// watchBody makes r's body bounded by the body timeout, when it has one;
// the caller finishes the body it returns once the request is served.
func (f *Flow) watchBody(w http.ResponseWriter, r *http.Request) *deadlineBody {
	wait := f.cfg.timeouts.BodyRead
	if wait <= 0 || r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil
	}
	conn, ok := w.(readDeadliner)
	if !ok {
		conn = http.NewResponseController(w)
	}
	// Bound the body from now, read or not: net/http drains an unread body
	// after the handler, and a stalled client must not hold that either.
	until := clock() + wait
	if err := conn.SetReadDeadline(at(until)); err != nil {
		return nil // a server without deadlines: nothing to bound
	}
	b := &deadlineBody{ReadCloser: r.Body, conn: conn, wait: wait, until: until, set: &f.bodies}
	f.bodies.add(b)
	r.Body = b
	return b
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	if b.done {
		return b.ReadCloser.Read(p)
	}
	if b.set.cut.Load() {
		b.conn.SetReadDeadline(time.Now())
	} else if now := clock(); b.until-now < b.wait/2 {
		b.until = now + b.wait
		b.conn.SetReadDeadline(at(b.until))
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
		b.conn.SetReadDeadline(time.Time{})
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
		b.conn.SetReadDeadline(time.Now())
	}
}
