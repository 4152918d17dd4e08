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
	// BodyRead bounds the wait for each read of a request body: a read
	// that waits longer (checked every eighth of it, at most every 250ms)
	// fails, and the request with it (a 4xx). A slow upload that keeps
	// moving is not cut, one that stalls is. Default 30s.
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

// bodies tracks the request bodies being read. A watchdog goroutine,
// running while there are any, cuts a read that has waited longer than the
// body timeout; Shutdown cuts every read at once instead of waiting for
// clients that stalled. Reads in between cost no timer: the connection's
// read deadline is touched only to cut a read, or to bound the drain of a
// body its handler left unread.
type bodies struct {
	cut      atomic.Bool   // shutting down: reads get no more time
	now      atomic.Int64  // the watchdog's clock, a clock() reading
	mu       sync.Mutex    // guards what follows
	head     *deadlineBody // the bodies being read, linked through prev and next
	watching bool          // a watchdog runs
}

// watchTick is how often the watchdog looks at the bodies for a body
// timeout of wait: an eighth of it, between 5ms and 250ms.
func watchTick(wait time.Duration) time.Duration {
	return min(max(wait/8, 5*time.Millisecond), 250*time.Millisecond)
}

func (s *bodies) add(b *deadlineBody) {
	s.mu.Lock()
	b.next = s.head
	if s.head != nil {
		s.head.prev = b
	}
	s.head = b
	if !s.watching {
		s.watching = true
		s.now.Store(int64(clock()))
		go s.watch(b.wait)
	}
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

// watch cuts the reads that have waited longer than wait, until no body is
// left to watch.
func (s *bodies) watch(wait time.Duration) {
	t := time.NewTicker(watchTick(wait))
	defer t.Stop()
	for range t.C {
		now := clock()
		s.now.Store(int64(now))
		s.mu.Lock()
		if s.head == nil {
			s.watching = false
			s.mu.Unlock()
			return
		}
		for b := s.head; b != nil; b = b.next {
			if since := b.reading.Load(); since != 0 && now-time.Duration(since) > b.wait && !b.cutOff {
				b.cutOff = true
				b.conn.SetReadDeadline(time.Now()) // the read in progress fails now
			}
		}
		s.mu.Unlock()
	}
}

// cutStalled ends the body reads in progress at once: at shutdown, a client
// still sending its body is not waited for.
func (s *bodies) cutStalled() {
	s.cut.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	for b := s.head; b != nil; b = b.next {
		b.cutOff = true
		b.conn.SetReadDeadline(time.Now())
	}
}

// deadlineBody is a request body whose reads the flow's watchdog bounds:
// each read that waits longer than the body timeout fails. At the end of
// the request, a body left unread gets a read deadline, so that net/http
// drains it within the same bound.
type deadlineBody struct {
	io.ReadCloser
	conn       readDeadliner // the connection's read deadline
	wait       time.Duration
	set        *bodies
	reading    atomic.Int64 // when the read in progress began (a watchdog clock reading, at least 1); 0 between reads
	prev, next *deadlineBody
	cutOff     bool // the watchdog or Shutdown cut it (guarded by set.mu)
	done       bool // read to its end or failed: no longer watched
}

// readDeadliner is what sets a connection's read deadline: net/http's own
// ResponseWriter, or a ResponseController around a writer that wraps it.
type readDeadliner interface {
	SetReadDeadline(time.Time) error
}

// clockEpoch is the origin of the body clock.
var clockEpoch = time.Now()

// clock reads the monotonic clock, as a duration since clockEpoch (half the
// cost of time.Now).
func clock() time.Duration { return time.Since(clockEpoch) }

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
	b := &deadlineBody{ReadCloser: r.Body, conn: conn, wait: wait, set: &f.bodies}
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
	}
	b.reading.Store(max(b.set.now.Load(), 1))
	n, err := b.ReadCloser.Read(p)
	b.reading.Store(0)
	if err != nil {
		b.done = true
		b.set.remove(b)
	}
	return n, err
}

// finish ends the watch once the request is served. A body not read to its
// end gets a read deadline one body timeout away (now, when it was cut), so
// that net/http's drain of what is left cannot be held by a stalled client.
func (b *deadlineBody) finish() {
	if b.done {
		return
	}
	b.done = true
	b.set.remove(b)
	if b.cutOff || b.set.cut.Load() {
		b.conn.SetReadDeadline(time.Now())
	} else {
		b.conn.SetReadDeadline(time.Now().Add(b.wait))
	}
}
