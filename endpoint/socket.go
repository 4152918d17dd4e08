package endpoint

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"
	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/requests"
	"github.com/replicaflow/replicaflow/responses"
)

// socket is one live connection of a WebSocket endpoint.
type socket struct {
	conn *websocket.Conn
	ws   *requests.WebSocket
	cfg  wsConfig

	awayOnce sync.Once
	away     chan struct{} // closed when the connection must end
	wg       sync.WaitGroup
}

func newSocket(conn *websocket.Conn, r *http.Request, cfg wsConfig) *socket {
	s := &socket{conn: conn, cfg: cfg, away: make(chan struct{})}
	s.ws = requests.NewWebSocket(conn, r, s.away)
	return s
}

// goAway tells the connection to end: the handler sees GoingAway, and the
// connection is closed with 1001 after the grace period.
func (s *socket) goAway() { s.awayOnce.Do(func() { close(s.away) }) }

func (s *socket) isAway() bool {
	select {
	case <-s.away:
		return true
	default:
		return false
	}
}

// serve runs the handler for the connection's life and closes it. c is the
// upgrade request's context; attrs name the endpoint in logs.
func (s *socket) serve(ctx context.Context, c *gin.Context, host Host, run func(context.Context) error, attrs []any) {
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var drain <-chan struct{}
	if d, ok := host.(drainer); ok {
		drain = d.Draining(ctx)
	}

	// life ends when the handler returns; it stops the helper goroutines.
	life, end := context.WithCancel(context.Background())
	defer func() {
		// Also when the handler aborts with http.ErrAbortHandler.
		end()
		s.conn.CloseNow()
		s.wg.Wait()
	}()
	s.wg.Add(1)
	go s.watch(life, drain, cancel)
	if s.cfg.ping > 0 {
		s.wg.Add(1)
		go s.keepAlive(life)
	}

	err := s.call(hctx, c, run, host.Logger(), attrs)
	code, reason := s.closeFor(err, host.Logger(), attrs)
	end()
	s.conn.Close(code, reason)
}

// call runs the handler, turning a panic into errPanicked.
func (s *socket) call(ctx context.Context, c *gin.Context, run func(context.Context) error, log *slog.Logger, attrs []any) (err error) {
	defer func() {
		if p := recover(); p != nil {
			responses.HandlePanic(c, log, p, attrs...) // the answer has begun: it only logs
			err = errPanicked
		}
	}()
	return run(ctx)
}

var errPanicked = errors.New("WebSocket handler panicked")

// closeFor chooses the close code and reason for the handler's result.
func (s *socket) closeFor(err error, log *slog.Logger, attrs []any) (websocket.StatusCode, string) {
	var ce websocket.CloseError
	switch {
	case err == nil:
		if s.isAway() {
			return websocket.StatusGoingAway, "server going away"
		}
		return websocket.StatusNormalClosure, ""
	case errors.As(err, &ce):
		return ce.Code, ce.Reason // the peer closed, or the handler chose
	case errors.Is(err, websocket.ErrMessageTooBig):
		return websocket.StatusMessageTooBig, "message too big"
	case s.isAway() && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		return websocket.StatusGoingAway, "server going away"
	case errors.Is(err, errPanicked):
		return websocket.StatusInternalError, "internal error"
	case clientLeft(err):
		// The client's doing, not the server's: no ERROR line for it.
		log.Debug("WebSocket client left without a close frame", append(attrs[:len(attrs):len(attrs)], "error", err)...)
		return websocket.StatusNormalClosure, ""
	case protocolViolation(err):
		log.Info("WebSocket protocol violation", append(attrs[:len(attrs):len(attrs)], "error", err)...)
		return websocket.StatusProtocolError, "protocol error"
	}
	p, _, internal := responses.ProblemFor(err)
	switch {
	case p.Status == http.StatusServiceUnavailable:
		return websocket.StatusTryAgainLater, reason(p.Detail)
	case internal:
		log.Error("WebSocket handler failed", append(attrs[:len(attrs):len(attrs)], "error", err)...)
		return websocket.StatusInternalError, "internal error"
	case p.Status == responses.StatusClientClosedRequest: // the handler's context ended
		return websocket.StatusNormalClosure, ""
	}
	return websocket.StatusPolicyViolation, reason(p.Detail)
}

// clientLeft reports whether err says the client went away without the
// close handshake: the connection ended or was reset under a read or write.
func clientLeft(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// protocolViolation reports whether err is github.com/coder/websocket's
// refusal of a frame that breaks RFC 6455 (an unmasked client frame, a
// reserved bit or opcode, a bad control frame, a negative length, a stray
// continuation). The library has no error type for them; each of its
// messages for one begins "received " (a close frame, also "received ", is
// a websocket.CloseError and handled before).
func protocolViolation(err error) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if strings.HasPrefix(e.Error(), "received ") {
			return true
		}
	}
	return false
}

// reason trims a close reason to what fits a control frame.
func reason(s string) string {
	const maxReason = 123
	if len(s) <= maxReason {
		return s
	}
	s = s[:maxReason]
	for len(s) > 0 && s[len(s)-1]&0xC0 == 0x80 { // do not cut a UTF-8 sequence
		s = s[:len(s)-1]
	}
	if len(s) > 0 && s[len(s)-1] >= 0xC0 {
		s = s[:len(s)-1]
	}
	return s
}

// watch turns a drain of the call's replica into a going-away close after
// the grace period, then ends the handler's context.
func (s *socket) watch(life context.Context, drain <-chan struct{}, cancel context.CancelFunc) {
	defer s.wg.Done()
	away := (<-chan struct{})(s.away)
	var grace <-chan time.Time
	for {
		select {
		case <-life.Done():
			return
		case <-drain:
			drain = nil
			s.goAway()
		case <-away:
			away = nil
			t := time.NewTimer(s.cfg.grace)
			defer t.Stop()
			grace = t.C
		case <-grace:
			s.conn.Close(websocket.StatusGoingAway, "server going away")
			cancel()
			return
		}
	}
}

// keepAlive pings the client every interval. A ping is answered only while
// something reads the connection, so a missing pong counts only then.
func (s *socket) keepAlive(life context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.ping)
	defer t.Stop()
	for {
		select {
		case <-life.Done():
			return
		case <-t.C:
		}
		reading := s.ws.Reading()
		// Not bound to life: a write cut short by a context closes the
		// connection without a close frame. Close ends a pending Ping.
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ping)
		err := s.conn.Ping(ctx)
		cancel()
		if err != nil && reading && s.ws.Reading() && life.Err() == nil {
			s.conn.CloseNow() // the peer is gone: no handshake to wait for
			return
		}
	}
}
