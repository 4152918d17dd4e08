package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/replicaflow/replicaflow/registry"
)

// checker health-checks one instance on its own goroutine until its
// context is cancelled or the instance is removed.
type checker struct {
	s      *Supervisor
	key    string
	cancel context.CancelFunc

	mu   sync.Mutex
	inst registry.Instance
	h    health

	// wmu is held while the checker writes to the registry; whoever stops
	// the checker cancels it and then takes wmu, so no write lands after.
	wmu sync.Mutex
}

// stop cancels the checker and waits for any registry write in flight.
func (c *checker) stop() {
	c.cancel()
	c.wmu.Lock()
	//lint:ignore SA2001 an intentional barrier: wait for the write in flight
	c.wmu.Unlock()
}

func (c *checker) run(ctx context.Context) {
	defer c.cancel()
	every := c.s.interval(c.inst)
	t := time.NewTimer(0) // the first check runs at once
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !c.checkOnce(ctx) {
			return
		}
		t.Reset(every)
	}
}

// checkOnce checks the instance, stores its status and lease, and reports
// whether to keep checking.
func (c *checker) checkOnce(ctx context.Context) bool {
	s := c.s
	ok, errText := c.probe(ctx)
	if ctx.Err() != nil {
		return false
	}
	now := time.Now()
	c.mu.Lock()
	changed := c.h.observe(ok, errText, now, s.opts.Failures, s.opts.Successes)
	expired := c.h.expired(now, s.opts.Grace)
	c.inst.Status = c.h.status
	inst := c.inst
	c.mu.Unlock()
	log := s.opts.Logger.With("service", inst.Service, "id", inst.ID)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if ctx.Err() != nil {
		return false
	}
	if expired {
		log.Warn("supervisor: removing instance unhealthy past its grace period", "grace", s.opts.Grace)
		s.forget(c)
		if err := s.opts.Registry.Deregister(context.WithoutCancel(ctx), inst.Service, inst.ID); err != nil &&
			!errors.Is(err, registry.ErrNotFound) {
			log.Error("supervisor: deregistering", "err", err)
		}
		return false
	}
	if changed {
		log.Info("supervisor: instance status changed", "status", inst.Status, "error", errText)
	}
	// Rewriting the entry carries the status and renews the lease.
	if err := s.opts.Registry.Register(ctx, inst, s.lease(inst)); err != nil && ctx.Err() == nil {
		log.Error("supervisor: storing instance", "err", err)
	}
	return true
}

// probe GETs the health URL; any 2xx passes. An instance without a health
// path is probed at its base URL, where any answer below 500 passes.
func (c *checker) probe(ctx context.Context) (bool, string) {
	c.mu.Lock()
	inst := c.inst
	c.mu.Unlock()
	target, strict := inst.HealthURL(), true
	if target == "" {
		target, strict = inst.BaseURL()+"/", false
	}
	ctx, cancel := context.WithTimeout(ctx, c.s.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return false, err.Error()
	}
	resp, err := c.s.opts.Client.Do(req)
	if err != nil {
		return false, err.Error()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 || (!strict && resp.StatusCode < 500) {
		return true, ""
	}
	return false, fmt.Sprintf("health check returned %d", resp.StatusCode)
}
