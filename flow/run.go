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
	"time"

	"github.com/replicaflow/replicaflow/service"
)

// runState is the flow's server: started by Start, stopped by Shutdown.
type runState struct {
	mu       sync.Mutex
	srv      *http.Server
	ln       net.Listener
	done     chan error
	started  bool
	running  atomic.Bool // services are started (added ones start at once)
	used     atomic.Bool // services were started once (by Start, StartServices or a first request)
	autoMu   sync.Mutex
	stopping atomic.Bool
}

// addr returns the address to listen on: the Address option, else API_PORT
// or PORT, else ":8000".
func (f *Flow) addr() string {
	if f.cfg.addr != "" {
		return f.cfg.addr
	}
	for _, k := range []string{"API_PORT", "PORT"} {
		if p := os.Getenv(k); p != "" {
			if _, err := net.LookupPort("tcp", p); err == nil {
				return ":" + p
			}
		}
	}
	return ":8000"
}

// Start starts every service's replicas and serves the flow on its address
// in the background. It returns once the listener is open, or the error that
// kept it from opening.
func (f *Flow) Start(ctx context.Context) error {
	if err := f.listen(ctx); err != nil {
		return err
	}
	for _, fn := range f.cfg.onStart {
		if err := fn(ctx, f); err != nil {
			f.Shutdown(context.Background())
			return fmt.Errorf("replicaflow: start hook: %w", err)
		}
	}
	return nil
}

func (f *Flow) listen(ctx context.Context) error {
	f.run.mu.Lock()
	defer f.run.mu.Unlock()
	if f.run.started {
		return errors.New("replicaflow: the flow is already started")
	}
	addr := f.addr()
	if p, ok := os.LookupEnv("API_PORT"); ok && f.cfg.addr == "" {
		if _, err := net.LookupPort("tcp", p); err != nil {
			return fmt.Errorf("replicaflow: API_PORT=%q is not a port", p)
		}
	}
	f.run.running.Store(true)
	if err := f.startServices(ctx); err != nil {
		f.run.running.Store(false)
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		f.stopServices(context.Background())
		return fmt.Errorf("replicaflow: listen on %s: %w", addr, err)
	}
	f.run.srv = &http.Server{
		Handler:           f,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          nil,
	}
	f.run.ln = ln
	f.run.done = make(chan error, 1)
	f.run.started = true
	f.run.stopping.Store(false)
	f.cfg.logger.Info("replicaflow serving", "addr", ln.Addr().String(), "services", len(f.Services()))
	go func(srv *http.Server, done chan<- error) {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		done <- err
	}(f.run.srv, f.run.done)
	return nil
}

// Addr returns the address the flow listens on once started (useful with
// port 0), or nil.
func (f *Flow) Addr() net.Addr {
	f.run.mu.Lock()
	defer f.run.mu.Unlock()
	if f.run.ln == nil {
		return nil
	}
	return f.run.ln.Addr()
}

// Shutdown stops taking connections, waits for the requests in flight until
// ctx ends, then drains and stops every service's replicas. Requests that
// were accepted are answered.
func (f *Flow) Shutdown(ctx context.Context) error {
	var errs []error
	if f.Addr() != nil {
		for i := len(f.cfg.onShutdown) - 1; i >= 0; i-- {
			if err := f.cfg.onShutdown[i](ctx, f); err != nil {
				errs = append(errs, fmt.Errorf("replicaflow: shutdown hook: %w", err))
			}
		}
	}
	f.run.mu.Lock()
	defer f.run.mu.Unlock()
	f.run.stopping.Store(true)
	f.run.running.Store(false)
	if f.run.started {
		if err := f.run.srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("replicaflow: shutdown: %w", err))
		}
		if err := <-f.run.done; err != nil {
			errs = append(errs, err)
		}
		f.run.started, f.run.srv, f.run.ln = false, nil, nil
	}
	if err := f.stopServices(ctx); err != nil {
		errs = append(errs, err)
	}
	for i := len(f.cfg.afterShutdown) - 1; i >= 0; i-- {
		if err := f.cfg.afterShutdown[i](ctx, f); err != nil {
			errs = append(errs, fmt.Errorf("replicaflow: after-shutdown hook: %w", err))
		}
	}
	return errors.Join(errs...)
}

func (f *Flow) startServices(ctx context.Context) error {
	f.run.used.Store(true)
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

// Run starts the flow and blocks until SIGINT or SIGTERM, then shuts down
// gracefully within the flow's shutdown timeout; a second signal exits at
// once. It returns the error that stopped the server, if any.
func Run(app *Flow) error {
	ctx := context.Background()
	if err := app.Start(ctx); err != nil {
		return err
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	app.run.mu.Lock()
	done := app.run.done
	app.run.mu.Unlock()
	select {
	case err := <-done:
		done <- err // Shutdown reads it again
	case sig := <-sigs:
		app.cfg.logger.Info("replicaflow shutting down", "signal", sig.String(), "timeout", app.cfg.shutdownTimeout)
		go func() {
			sig := <-sigs
			app.cfg.logger.Warn("replicaflow exiting at once", "signal", sig.String())
			os.Exit(1)
		}()
	}
	sctx, cancel := context.WithTimeout(ctx, app.cfg.shutdownTimeout)
	defer cancel()
	return app.Shutdown(sctx)
}

// StartServices starts every service's replicas without opening a listener,
// for an app served through Handler (tests, another server). Shutdown stops
// them.
func (f *Flow) StartServices(ctx context.Context) error {
	f.run.mu.Lock()
	defer f.run.mu.Unlock()
	f.run.running.Store(true)
	f.run.stopping.Store(false)
	if err := f.startServices(ctx); err != nil {
		f.run.running.Store(false)
		return err
	}
	return nil
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

// autoStart starts the services on the first request of a flow served
// through Handler without Start or StartServices.
func (f *Flow) autoStart() {
	f.run.autoMu.Lock()
	defer f.run.autoMu.Unlock()
	if f.run.used.Load() {
		return
	}
	f.run.running.Store(true)
	if err := f.startServices(context.Background()); err != nil {
		f.cfg.logger.Error("replicaflow: starting the services failed", "error", err)
	}
}
