package flow

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/replicaflow/replicaflow/service"
)

// State is where a flow is in its lifecycle.
type State string

// The states of a flow. A flow starts Initialized; Start, StartServices or
// its first request (when it is served through Handler) take it through
// Starting to Running; Shutdown takes it through Stopping to Stopped, from
// which it may be started again.
const (
	Initialized State = "initialized"
	Starting    State = "starting"
	Running     State = "running"
	Stopping    State = "stopping"
	Stopped     State = "stopped"
)

// lifecycle is the flow's one state value and the server it may run.
type lifecycle struct {
	mu    sync.Mutex // serializes Start, StartServices and Shutdown
	state atomic.Pointer[State]
	srv   *http.Server
	ln    net.Listener
	addr  atomic.Pointer[net.Addr] // read without mu: OnStart hooks ask for it
	done  chan error               // the server's result, once it serves
}

func (l *lifecycle) load() State {
	if s := l.state.Load(); s != nil {
		return *s
	}
	return Initialized
}

func (l *lifecycle) set(s State) { l.state.Store(&s) }

// State returns the flow's lifecycle state.
func (f *Flow) State() State { return f.run.load() }

// addr returns the address to listen on: the Address option, else API_PORT
// or PORT, else ":8000".
func (f *Flow) addr() (string, error) {
	if f.cfg.addr != "" {
		return f.cfg.addr, nil
	}
	for _, k := range []string{"API_PORT", "PORT"} {
		if p := os.Getenv(k); p != "" {
			if _, err := net.LookupPort("tcp", p); err != nil {
				return "", fmt.Errorf("replicaflow: %s=%q is not a port", k, p)
			}
			return ":" + p, nil
		}
	}
	return ":8000", nil
}

// Start starts the flow and serves it on its address in the background: it
// starts every service's replicas, opens the listener, then runs the
// OnStart hooks (Addr is known to them). It returns once the flow serves, or
// the error that kept it from starting, having undone what it started.
func (f *Flow) Start(ctx context.Context) error { return f.start(ctx, true) }

// StartServices starts the flow without opening a listener, for an app
// served through Handler by another server or a test: it starts every
// service's replicas and runs the OnStart hooks (Addr is nil to them).
// A flow served through Handler that was not started this way starts on its
// first request. Shutdown stops it.
func (f *Flow) StartServices(ctx context.Context) error { return f.start(ctx, false) }

// start is the flow's one start path: services, then the listener (when
// listen), then the OnStart hooks.
func (f *Flow) start(ctx context.Context, listen bool) error {
	f.run.mu.Lock()
	defer f.run.mu.Unlock()
	switch st := f.run.load(); st {
	case Initialized, Stopped:
	default:
		return fmt.Errorf("replicaflow: the flow is already %s", st)
	}
	var addr string
	if listen {
		a, err := f.addr()
		if err != nil {
			return err
		}
		addr = a
	}
	f.run.set(Starting)
	f.bodies.cut.Store(false)
	if err := f.startServices(ctx); err != nil {
		f.run.set(Stopped)
		return err
	}
	if listen {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			f.stopServices(context.Background())
			f.run.set(Stopped)
			return fmt.Errorf("replicaflow: listen on %s: %w", addr, err)
		}
		f.serve(ln)
		f.cfg.logger.Info("replicaflow serving", "addr", ln.Addr().String(), "services", len(f.Services()))
	}
	for _, fn := range f.cfg.onStart {
		if err := fn(ctx, f); err != nil {
			f.run.set(Running) // so stop undoes everything started so far
			f.stop(context.Background())
			return fmt.Errorf("replicaflow: start hook: %w", err)
		}
	}
	f.run.set(Running)
	return nil
}

// serve serves the flow on ln in the background.
func (f *Flow) serve(ln net.Listener) {
	srv := &http.Server{
		Handler:           f,
		ReadHeaderTimeout: f.cfg.timeouts.ReadHeader,
		IdleTimeout:       f.cfg.timeouts.Idle,
	}
	done := make(chan error, 1)
	f.run.srv, f.run.ln, f.run.done = srv, ln, done
	a := ln.Addr()
	f.run.addr.Store(&a)
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		done <- err
	}()
}

// Addr returns the address the flow listens on once started by Start
// (useful with port 0), or nil.
func (f *Flow) Addr() net.Addr {
	if a := f.run.addr.Load(); a != nil {
		return *a
	}
	return nil
}

// Shutdown stops the flow gracefully: it runs the OnShutdown hooks while the
// flow still serves, stops taking connections and waits for the requests in
// flight until ctx ends (then closes the connections left), drains and
// stops every service's replicas, and runs the AfterShutdown hooks. Requests
// that were accepted are answered. Shutting down a flow that is not started
// does nothing.
func (f *Flow) Shutdown(ctx context.Context) error {
	f.run.mu.Lock()
	defer f.run.mu.Unlock()
	switch f.run.load() {
	case Initialized, Stopped:
		return nil
	}
	return f.stop(ctx)
}

// stop undoes start; f.run.mu is held.
func (f *Flow) stop(ctx context.Context) error {
	var errs []error
	f.run.set(Stopping)
	for i := len(f.cfg.onShutdown) - 1; i >= 0; i-- {
		if err := f.cfg.onShutdown[i](ctx, f); err != nil {
			errs = append(errs, fmt.Errorf("replicaflow: shutdown hook: %w", err))
		}
	}
	f.bodies.cutStalled() // a client still sending its body is not waited for
	if srv := f.run.srv; srv != nil {
		if err := srv.Shutdown(ctx); err != nil {
			srv.Close() // out of time: drop the connections left
			errs = append(errs, fmt.Errorf("replicaflow: shutdown: %w", err))
		}
		if err := <-f.run.done; err != nil {
			errs = append(errs, err)
		}
		f.run.srv, f.run.ln, f.run.done = nil, nil, nil
		f.run.addr.Store(nil)
	}
	if err := f.stopServices(ctx); err != nil {
		errs = append(errs, err)
	}
	for i := len(f.cfg.afterShutdown) - 1; i >= 0; i-- {
		if err := f.cfg.afterShutdown[i](ctx, f); err != nil {
			errs = append(errs, fmt.Errorf("replicaflow: after-shutdown hook: %w", err))
		}
	}
	f.run.set(Stopped)
	return errors.Join(errs...)
}

func (f *Flow) startServices(ctx context.Context) error {
	for _, s := range f.Services() {
		if s.Options().ManualStart {
			continue
		}
		if err := ignoreIdle(s.Start(ctx)); err != nil {
			f.stopServices(context.Background())
			return fmt.Errorf("replicaflow: start %s: %w", s, err)
		}
	}
	return nil
}

func (f *Flow) stopServices(ctx context.Context) error {
	var errs []error
	for _, s := range f.Services() {
		if err := ignoreIdle(s.Stop(ctx)); err != nil {
			errs = append(errs, fmt.Errorf("replicaflow: stop %s: %w", s, err))
		}
	}
	return errors.Join(errs...)
}

// startOnFirstRequest starts a flow served through Handler that nobody
// started, on its first request, through the same path as StartServices.
func (f *Flow) startOnFirstRequest() {
	if err := f.StartServices(context.Background()); err != nil && f.run.load() != Running {
		f.cfg.logger.Error("replicaflow: starting the flow on its first request failed", "error", err)
	}
}

// ErrInterrupted is returned by Run when a second signal cut the graceful
// shutdown short.
var ErrInterrupted = errors.New("replicaflow: shutdown interrupted by a second signal")

// Run starts the flow and blocks until SIGINT or SIGTERM, then shuts down
// gracefully within the flow's shutdown timeout. A second signal cuts the
// shutdown short: the connections left are closed and Run returns
// ErrInterrupted at once. Run returns the error that stopped the server, if
// any; a program usually exits non-zero on it:
//
//	if err := flow.Run(app); err != nil {
//		log.Fatal(err)
//	}
func Run(app *Flow) error {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ctx := context.Background()
	if err := app.Start(ctx); err != nil {
		return err
	}
	app.run.mu.Lock()
	done := app.run.done
	app.run.mu.Unlock()
	select {
	case err := <-done:
		done <- err // Shutdown reads it again
	case sig := <-sigs:
		app.cfg.logger.Info("replicaflow shutting down", "signal", sig.String(), "timeout", app.cfg.shutdownTimeout)
	}
	sctx, cancel := context.WithTimeout(ctx, app.cfg.shutdownTimeout)
	defer cancel()
	var interrupted atomic.Bool
	stopped := make(chan struct{})
	defer close(stopped)
	go func() {
		select {
		case sig := <-sigs:
			app.cfg.logger.Warn("replicaflow stopping at once", "signal", sig.String())
			interrupted.Store(true)
			cancel()
		case <-stopped:
		}
	}()
	err := app.Shutdown(sctx)
	if interrupted.Load() {
		return errors.Join(ErrInterrupted, err)
	}
	return err
}

// ignoreIdle drops the error of starting a running service or stopping a
// stopped one: the flow starts and stops all of its services, whatever each
// one's state.
func ignoreIdle(err error) error {
	var te *service.TransitionError
	if errors.As(err, &te) && te.Reason == "" {
		return nil
	}
	return err
}
