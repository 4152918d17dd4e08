package registry

import (
	"context"
	"errors"
	"time"
)

// KeepAlive registers inst under a lease of ttl, renews it every ttl/3 (and
// registers it again if the registry has lost it) until ctx is done, then
// deregisters it. It returns the first registration's error, or nil after
// the deregistration. ttl must be positive.
func KeepAlive(ctx context.Context, reg Registry, inst Instance, ttl time.Duration) error {
	if ttl <= 0 {
		panic("replicaflow: registry.KeepAlive needs a positive ttl")
	}
	if err := reg.Register(ctx, inst, ttl); err != nil {
		return err
	}
	t := time.NewTicker(ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ttl)
			defer cancel()
			if err := reg.Deregister(dctx, inst.Service, inst.ID); err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			return nil
		case <-t.C:
			err := reg.Renew(ctx, inst.Service, inst.ID, ttl)
			if errors.Is(err, ErrNotFound) {
				_ = reg.Register(ctx, inst, ttl) // retried at the next tick on failure
			}
		}
	}
}
