// Package worker registers a running app with a supervisor, PicoAPI's
// worker done right: it retries with exponential backoff and jitter while
// the supervisor is away, sends a heartbeat and registers again when the
// supervisor has forgotten it, and deregisters on Stop.
//
// A flow becomes a worker with one option: Join with the options in Go, or
// FromEnv with PicoAPI's API_* variables and .env file:
//
//	app := flow.New(worker.FromEnv())
//
// Worker is the registration loop itself, for any other server.
package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/replicaflow/replicaflow/cluster"
	"github.com/replicaflow/replicaflow/registry"
)

// Options configures a Worker. Zero values take the defaults.
type Options struct {
	// RegisterURL is the supervisor's registration URL
	// (API_REGISTER_PATH), e.g. http://127.0.0.1:8100/register. Required.
	RegisterURL string
	// Instance describes this worker: service name, host, port, version,
	// tags, health path and interval. ID defaults to "host:port".
	Instance registry.Instance
	// Token is sent as "Authorization: Bearer <token>" when set.
	Token string
	// Heartbeat is how often the worker renews its registration (default
	// 10s). A 404 answer makes it register again.
	Heartbeat time.Duration
	// MinBackoff and MaxBackoff bound the wait between failed attempts
	// (defaults 200ms and 30s); each wait is drawn at random up to an
	// exponentially growing ceiling (full jitter).
	MinBackoff, MaxBackoff time.Duration
	// Client makes the calls; default a client with a 10s timeout.
	Client *http.Client
	// Logger receives failures; default slog.Default().
	Logger *slog.Logger
}

// Worker keeps one instance registered with a supervisor between Start and
// Stop.
type Worker struct {
	opts Options
	reg  cluster.Registration

	mu         sync.Mutex
	cancel     context.CancelFunc
	done       chan struct{}
	registered bool
	secret     string        // the instance's secret, from the supervisor's receipt
	first      chan struct{} // closed at the first successful registration
	firstOnce  sync.Once
}

// New checks the options and returns a stopped worker.
func New(opts Options) (*Worker, error) {
	u, err := url.Parse(opts.RegisterURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("worker: register URL %q is not an absolute http(s) URL", opts.RegisterURL)
	}
	opts.RegisterURL = strings.TrimSuffix(opts.RegisterURL, "/")
	inst := opts.Instance
	if inst.ID == "" && inst.Host != "" && inst.Port != 0 {
		inst.ID = net.JoinHostPort(inst.Host, strconv.Itoa(inst.Port))
	}
	opts.Instance = inst
	reg := cluster.RegistrationOf(inst)
	if _, err := reg.Instance(); err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 10 * time.Second
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 200 * time.Millisecond
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(30*time.Second, opts.MinBackoff)
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Worker{opts: opts, reg: reg, first: make(chan struct{})}, nil
}

// Registration returns the payload the worker sends.
func (w *Worker) Registration() cluster.Registration { return w.reg }

// Start begins registering in the background and returns at once: an
// absent supervisor does not stop the app from starting. Starting a
// started worker is an error.
func (w *Worker) Start(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cancel != nil {
		return errors.New("worker: already started")
	}
	loopCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w.cancel, w.done = cancel, make(chan struct{})
	go w.loop(loopCtx, w.done)
	return nil
}

// Wait blocks until the worker has registered once, or ctx is done.
func (w *Worker) Wait(ctx context.Context) error {
	select {
	case <-w.first:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Registered reports whether the supervisor holds the registration, as far
// as the worker knows.
func (w *Worker) Registered() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.registered
}

// Stop ends the background loop and deregisters, within ctx. Stopping a
// stopped worker does nothing.
func (w *Worker) Stop(ctx context.Context) error {
	w.mu.Lock()
	cancel, done := w.cancel, w.done
	w.cancel, w.done = nil, nil
	w.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	<-done
	w.setRegistered(false)
	status, _, err := w.call(ctx, http.MethodDelete, w.instanceURL(), nil)
	if err != nil {
		return fmt.Errorf("worker: deregistering: %w", err)
	}
	if status != http.StatusNoContent && status != http.StatusOK && status != http.StatusNotFound {
		return fmt.Errorf("worker: deregistering: supervisor answered %d", status)
	}
	return nil
}

func (w *Worker) setRegistered(v bool) {
	w.mu.Lock()
	w.registered = v
	w.mu.Unlock()
	if v {
		w.firstOnce.Do(func() { close(w.first) })
	}
}

func (w *Worker) instanceURL() string {
	return w.opts.RegisterURL + "/" + url.PathEscape(w.reg.Name) + "/" + url.PathEscape(w.reg.ID)
}

func (w *Worker) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	attempt := 0
	for {
		var wait time.Duration
		if !w.Registered() {
			status, body, err := w.call(ctx, http.MethodPut, w.opts.RegisterURL, w.reg)
			if err == nil && (status == http.StatusOK || status == http.StatusCreated) {
				w.keepSecret(body)
				w.setRegistered(true)
				attempt, wait = 0, w.opts.Heartbeat
			} else {
				w.logFailure(ctx, "register", status, err)
				wait = w.backoff(attempt)
				attempt++
			}
		} else {
			status, _, err := w.call(ctx, http.MethodPost, w.instanceURL()+"/renew", nil)
			switch {
			case err == nil && status == http.StatusOK:
				attempt, wait = 0, w.opts.Heartbeat
			case err == nil && status == http.StatusNotFound:
				w.setRegistered(false) // forgotten: register again at once
				attempt = 0
				continue
			case err == nil && status == http.StatusConflict:
				// The ID was given to another registration: try to register
				// again, which the supervisor refuses while the other holds it.
				w.opts.Logger.Warn("worker: the supervisor gave this instance to another registration", "id", w.reg.ID)
				w.setRegistered(false)
				wait = w.backoff(attempt)
				attempt++
			default:
				w.logFailure(ctx, "renew", status, err)
				wait = min(w.backoff(attempt), w.opts.Heartbeat)
				attempt++
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// backoff is full jitter over an exponential ceiling.
func (w *Worker) backoff(attempt int) time.Duration {
	ceiling := w.opts.MinBackoff << min(attempt, 20)
	if ceiling > w.opts.MaxBackoff || ceiling <= 0 {
		ceiling = w.opts.MaxBackoff
	}
	return w.opts.MinBackoff/2 + rand.N(ceiling-w.opts.MinBackoff/2+1)
}

func (w *Worker) logFailure(ctx context.Context, what string, status int, err error) {
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		w.opts.Logger.Warn("worker: supervisor unreachable", "call", what, "err", err)
		return
	}
	w.opts.Logger.Warn("worker: supervisor refused", "call", what, "status", status)
}

// keepSecret keeps the secret of a registration's receipt; a receipt
// without one (the instance was registered before, by this address) leaves
// the one held.
func (w *Worker) keepSecret(receipt []byte) {
	var r struct {
		Secret string `json:"secret"`
	}
	if json.Unmarshal(receipt, &r) == nil && r.Secret != "" {
		w.mu.Lock()
		w.secret = r.Secret
		w.mu.Unlock()
	}
}

// call sends one request and returns the status code and the start of the
// answer's body. Every call says it is JSON, as a supervisor without a token
// requires of every change, and carries the instance's secret once known.
func (w *Worker) call(ctx context.Context, method, target string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	w.mu.Lock()
	if w.secret != "" {
		req.Header.Set(cluster.SecretHeader, w.secret)
	}
	w.mu.Unlock()
	if w.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+w.opts.Token)
	}
	resp, err := w.opts.Client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, data, nil
}
