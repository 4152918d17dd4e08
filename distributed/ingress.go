package distributed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/replicaflow/replicaflow/responses"
)

// IngressOptions configures an Ingress. Zero values take the defaults.
type IngressOptions struct {
	// Prefix and Flow must match the workers' (defaults DefaultPrefix and
	// DefaultFlow).
	Prefix, Flow string
	// Timeout bounds one attempt, from sending the request to its answer
	// (default 30s). A timed-out idempotent request is sent once more.
	Timeout time.Duration
	// MaxBusyWait bounds how long busy answers are retried, with jittered
	// exponential back-off from 1ms to 20ms, before the client gets 503
	// (default 1s).
	MaxBusyWait time.Duration
	// RetryAfter is the Retry-After of a 503 (default 1s).
	RetryAfter time.Duration
	// Logger receives transport errors; default slog.Default().
	Logger *slog.Logger
}

// Ingress forwards HTTP requests to services on NATS. It is safe for
// concurrent use.
type Ingress struct {
	nc       *nats.Conn
	opts     IngressOptions
	inFlight atomic.Int64
	retries  atomic.Uint64
}

// NewIngress returns an Ingress that sends requests through nc. It returns
// an error for a bad prefix or flow name.
func NewIngress(nc *nats.Conn, opts IngressOptions) (*Ingress, error) {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.Flow == "" {
		opts.Flow = DefaultFlow
	}
	if err := checkNames(opts.Prefix, opts.Flow); err != nil {
		return nil, fmt.Errorf("replicaflow: distributed: %w", err)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.MaxBusyWait <= 0 {
		opts.MaxBusyWait = time.Second
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Ingress{nc: nc, opts: opts}, nil
}

// InFlight returns the number of requests being forwarded.
func (in *Ingress) InFlight() int { return int(in.inFlight.Load()) }

// BusyRetries returns how many busy answers were retried so far.
func (in *Ingress) BusyRetries() uint64 { return in.retries.Load() }

// Handler forwards the requests under prefix (a path like "/billing") to
// the service called name, with the path after the prefix.
func (in *Ingress) Handler(prefix, name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in.Forward(w, r, name, strings.TrimPrefix(r.URL.EscapedPath(), prefix))
	})
}

// Forward sends r to the service called name on NATS and writes its
// answer to w. path is the escaped path under the service's base route
// ("" or starting with "/"); the worker puts its base route in front.
func (in *Ingress) Forward(w http.ResponseWriter, r *http.Request, name, path string) {
	in.inFlight.Add(1)
	defer in.inFlight.Add(-1)
	if !serviceNameRE.MatchString(name) {
		responses.WriteProblem(w, r, responses.NewProblem(http.StatusNotFound, "no service named "+name, nil), nil)
		return
	}
	if path != "" && !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	limit := in.nc.MaxPayload()
	if limit <= 0 {
		responses.WriteProblem(w, r, responses.NewProblem(http.StatusServiceUnavailable, "not connected to NATS", nil), responses.RetryAfter(in.opts.RetryAfter))
		return
	}
	if r.ContentLength > limit {
		in.tooLarge(w, r, r.ContentLength, limit)
		return
	}
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
		if err != nil {
			responses.WriteProblem(w, r, responses.NewProblem(http.StatusBadRequest, "reading the request body: "+err.Error(), nil), nil)
			return
		}
		if int64(len(b)) > limit {
			in.tooLarge(w, r, int64(len(b)), limit)
			return
		}
		body = b
	}
	h := nats.Header{}
	putHeaders(h, r.Header)
	h[MethodHeader] = []string{r.Method}
	h[PathHeader] = []string{path}
	if r.URL.RawQuery != "" {
		h[QueryHeader] = []string{r.URL.RawQuery}
	}
	if r.Host != "" {
		h[HostHeader] = []string{r.Host}
	}
	if r.RemoteAddr != "" {
		h[RemoteAddrHeader] = []string{r.RemoteAddr}
	}
	h[DeadlineHeader] = []string{"0000000000000"} // sized now, set per attempt
	if size := int64(headerSize(h) + len(body)); size > limit {
		in.tooLarge(w, r, size, limit)
		return
	}
	in.send(w, r, name, &nats.Msg{Subject: Subject(in.opts.Prefix, in.opts.Flow, name), Header: h, Data: body})
}

func (in *Ingress) tooLarge(w http.ResponseWriter, r *http.Request, size, limit int64) {
	responses.WriteProblem(w, r, responses.NewProblem(http.StatusRequestEntityTooLarge, fmt.Sprintf(
		"the request (%d bytes or more with its headers) is larger than the NATS payload limit of %d bytes (the server's max_payload); "+
			"distributed mode cannot carry it: send it to a local service or raise max_payload", size, limit), nil), nil)
}

// send runs the attempts: busy answers are retried with back-off until
// MaxBusyWait, a timeout of an idempotent request once.
func (in *Ingress) send(w http.ResponseWriter, r *http.Request, name string, msg *nats.Msg) {
	start := time.Now()
	timeoutRetried := !idempotent(r.Method)
	for busy := 0; ; {
		ctx, cancel := context.WithTimeout(r.Context(), in.opts.Timeout)
		deadline, _ := ctx.Deadline()
		msg.Header[DeadlineHeader] = []string{strconv.FormatInt(deadline.UnixMilli(), 10)}
		resp, err := in.nc.RequestMsgWithContext(ctx, msg)
		cancel()
		if err == nil && resp.Header.Get(StatusHeader) == Expired {
			err = context.DeadlineExceeded // the worker saw the deadline first
		}
		switch {
		case err == nil:
		case errors.Is(err, nats.ErrNoResponders):
			responses.WriteProblem(w, r, responses.NewProblem(http.StatusServiceUnavailable, "no worker serves "+name, nil), responses.RetryAfter(in.opts.RetryAfter))
			return
		case r.Context().Err() != nil:
			return // the client left
		case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout):
			if !timeoutRetried {
				timeoutRetried = true
				start = time.Now() // the busy-wait bound counts from the new attempt
				in.opts.Logger.Warn("distributed: request timed out; trying once more", "service", name)
				continue
			}
			responses.WriteProblem(w, r, responses.NewProblem(http.StatusGatewayTimeout, "service "+name+" did not answer in time", nil), nil)
			return
		case errors.Is(err, nats.ErrMaxPayload):
			in.tooLarge(w, r, int64(headerSize(msg.Header)+len(msg.Data)), in.nc.MaxPayload())
			return
		default:
			in.opts.Logger.Warn("distributed: NATS request failed", "service", name, "error", err)
			responses.WriteProblem(w, r, responses.NewProblem(http.StatusServiceUnavailable, "service "+name+" is unreachable: "+err.Error(), nil), responses.RetryAfter(in.opts.RetryAfter))
			return
		}
		code, isBusy, err := status(resp.Header)
		if err != nil {
			responses.WriteProblem(w, r, responses.NewProblem(http.StatusBadGateway, "service "+name+": "+err.Error(), nil), nil)
			return
		}
		if isBusy {
			d := backoff(busy)
			busy++
			if time.Since(start)+d > in.opts.MaxBusyWait {
				responses.WriteProblem(w, r, responses.NewProblem(http.StatusServiceUnavailable, "every replica of service "+name+" is busy", nil), responses.RetryAfter(in.opts.RetryAfter))
				return
			}
			in.retries.Add(1)
			t := time.NewTimer(d)
			select {
			case <-r.Context().Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		takeHeaders(w.Header(), resp.Header)
		w.WriteHeader(code)
		_, _ = w.Write(resp.Data)
		return
	}
}

// backoff is the wait before retry n after a busy answer: exponential from
// 1ms to 20ms, with full jitter on its upper half.
func backoff(n int) time.Duration {
	d := min(20*time.Millisecond, time.Millisecond<<min(n, 5))
	return d/2 + rand.N(d/2+1)
}
