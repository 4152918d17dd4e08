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
	// BodyRead bounds the wait for each read of a request body: a slow
	// upload that keeps moving is not cut, one that stalls is (the request
	// fails with a 4xx). Default 30s.
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
	cut    atomic.Bool // shutting down: reads get no more time
	mu     sync.Mutex
	active map[*deadlineBody]struct{}
}

// deadlineBody sets a read deadline on the connection before each read of
// a request body and clears it at the end of the body.
type deadlineBody struct {
	io.ReadCloser
	w    http.ResponseWriter // its connection's deadlines, through http.ResponseController
	wait time.Duration
	set  *bodies
	done bool
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
	if err := http.NewResponseController(w).SetReadDeadline(time.Now().Add(wait)); err != nil {
		return nil // a server without deadlines: nothing to bound
	}
	b := &deadlineBody{ReadCloser: r.Body, w: w, wait: wait, set: &f.bodies}
	f.bodies.mu.Lock()
	if f.bodies.active == nil {
		f.bodies.active = map[*deadlineBody]struct{}{}
	}
	f.bodies.active[b] = struct{}{}
	f.bodies.mu.Unlock()
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
	deadline := time.Now()
	if !b.set.cut.Load() {
		deadline = deadline.Add(b.wait)
	}
	b.setDeadline(deadline)
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
	b.set.mu.Lock()
	delete(b.set.active, b)
	b.set.mu.Unlock()
}

// cutStalled ends the body reads in progress at once: at shutdown, a client
// still sending its body is not waited for.
func (s *bodies) cutStalled() {
	s.cut.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	for b := range s.active {
		b.setDeadline(time.Now())
	}
}
