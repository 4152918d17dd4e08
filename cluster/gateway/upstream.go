package gateway

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/replicaflow/replicaflow/registry"
)

// upstream is one instance the gateway can send requests to, shared by
// every entry and registry instance with the same base URL.
type upstream struct {
	base     *url.URL
	inFlight int // guarded by Gateway.mu

	mu        sync.Mutex
	checked   bool      // an active check has run
	healthy   bool      // result of the last active check
	downUntil time.Time // passive: a connection failed
	lastError string
}

func (u *upstream) routable(now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if now.Before(u.downUntil) {
		return false
	}
	return !u.checked || u.healthy
}

func (u *upstream) fail(now time.Time, cooldown time.Duration, err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.downUntil = now.Add(cooldown)
	u.lastError = err.Error()
}

func (u *upstream) observe(ok bool, errText string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.checked, u.healthy, u.lastError = true, ok, errText
	if ok {
		u.downUntil = time.Time{}
	}
}

func (u *upstream) status() (string, string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	switch {
	case time.Now().Before(u.downUntil), u.checked && !u.healthy:
		return string(registry.StatusUnhealthy), u.lastError
	case u.checked:
		return string(registry.StatusHealthy), ""
	}
	return string(registry.StatusUnknown), ""
}

// entryURL is the base URL of an entry.
func entryURL(e Entry) string {
	u, _ := url.Parse(e.Domain)
	return u.Scheme + "://" + net.JoinHostPort(u.Hostname(), strconv.Itoa(e.Port))
}

// upstreamFor returns the shared upstream of a base URL. Caller holds g.mu.
func (g *Gateway) upstreamFor(base string) *upstream {
	u := g.ups[base]
	if u == nil {
		parsed, _ := url.Parse(base)
		u = &upstream{base: parsed}
		g.ups[base] = u
	}
	return u
}

// lookup returns the registry's instances of name, cached briefly. When
// the registry cannot be reached it returns the last list it had, however
// old, and tries the registry again only after registryCacheTTL; down
// reports an outage for a service it never had a list of.
func (g *Gateway) lookup(ctx context.Context, name string) (list []registry.Instance, down bool) {
	if g.opts.Registry == nil {
		return nil, false
	}
	g.cacheMu.Lock()
	c, ok := g.cache[name]
	g.cacheMu.Unlock()
	if ok && time.Since(c.at) < registryCacheTTL {
		return c.list, false
	}
	list, err := g.opts.Registry.Find(ctx, name)
	if err != nil {
		if ctx.Err() != nil {
			return c.list, !ok
		}
		g.opts.Logger.Warn("gateway: registry lookup failed; routing with the last known instances",
			"service", name, "known", len(c.list), "err", err)
		if ok {
			g.cacheMu.Lock()
			g.cache[name] = cached{list: c.list, at: time.Now()}
			g.cacheMu.Unlock()
		}
		return c.list, !ok
	}
	g.cacheMu.Lock()
	g.cache[name] = cached{list: list, at: time.Now()}
	g.cacheMu.Unlock()
	return list, false
}

// candidates returns the upstreams of name. known reports whether name has
// any upstream at all, healthy or not; down, that the registry could not
// say, having never listed the service.
func (g *Gateway) candidates(ctx context.Context, name string) (all []*upstream, known, down bool) {
	insts, down := g.lookup(ctx, name)
	g.mu.Lock()
	defer g.mu.Unlock()
	seen := map[*upstream]bool{}
	for _, e := range g.entries {
		if e.NameService == name {
			known = true
			if u := g.upstreamFor(entryURL(e)); !seen[u] {
				seen[u] = true
				all = append(all, u)
			}
		}
	}
	for _, inst := range insts {
		known = true
		if !inst.Routable() {
			continue
		}
		if u := g.upstreamFor(inst.BaseURL()); !seen[u] {
			seen[u] = true
			all = append(all, u)
		}
	}
	return all, known, down
}

// acquire picks the routable upstream with the fewest requests in flight
// (ties broken at random), not in tried, and counts the request against it.
func (g *Gateway) acquire(cands []*upstream, tried map[*upstream]bool) *upstream {
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	var best []*upstream
	for _, u := range cands {
		if tried[u] || !u.routable(now) {
			continue
		}
		switch {
		case len(best) == 0 || u.inFlight < best[0].inFlight:
			best = append(best[:0], u)
		case u.inFlight == best[0].inFlight:
			best = append(best, u)
		}
	}
	if len(best) == 0 {
		return nil
	}
	u := best[rand.IntN(len(best))]
	u.inFlight++
	return u
}

func (g *Gateway) release(u *upstream) {
	g.mu.Lock()
	u.inFlight--
	g.mu.Unlock()
}

// check GETs an upstream's health path (2xx passes) or, without one, its
// root (any answer below 500 passes).
func (g *Gateway) check(ctx context.Context, u *upstream, healthPath string) {
	ctx, cancel := context.WithTimeout(ctx, g.opts.CheckTimeout)
	defer cancel()
	target, strict := u.base.String()+healthPath, healthPath != ""
	if !strict {
		target += "/"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		u.observe(false, err.Error())
		return
	}
	resp, err := (&http.Client{Transport: g.opts.Transport, CheckRedirect: noRedirect}).Do(req)
	if err != nil {
		u.observe(false, err.Error())
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300 || (!strict && resp.StatusCode < 500)
	errText := ""
	if !ok {
		errText = fmt.Sprintf("health check returned %d", resp.StatusCode)
	}
	u.observe(ok, errText)
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// CheckAll health-checks every entry and every registry instance now.
func (g *Gateway) CheckAll(ctx context.Context) {
	type job struct {
		u    *upstream
		path string
	}
	var jobs []job
	var insts []registry.Instance
	if g.opts.Registry != nil {
		insts = g.refresh(ctx)
	}
	g.mu.Lock()
	for _, e := range g.entries {
		jobs = append(jobs, job{g.upstreamFor(entryURL(e)), e.HealthPath})
	}
	for _, inst := range insts {
		p := inst.HealthPath
		jobs = append(jobs, job{g.upstreamFor(inst.BaseURL()), p})
	}
	g.mu.Unlock()
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.check(ctx, j.u, j.path)
		}()
	}
	wg.Wait()
}

// refresh reads every instance from the registry into the cache and
// returns them. When the registry cannot be reached, the cache is left as
// it is, so requests keep going to the last known instances, and those are
// returned to be checked.
func (g *Gateway) refresh(ctx context.Context) []registry.Instance {
	list, err := g.opts.Registry.Find(ctx, "")
	g.cacheMu.Lock()
	defer g.cacheMu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			g.opts.Logger.Warn("gateway: registry unavailable; routing with the last known instances", "err", err)
		}
		var known []registry.Instance
		for _, c := range g.cache {
			known = append(known, c.list...)
		}
		return known
	}
	now := time.Now()
	fresh := make(map[string]cached, len(g.cache))
	for _, inst := range list {
		c := fresh[inst.Service]
		c.list, c.at = append(c.list, inst), now
		fresh[inst.Service] = c
	}
	g.cache = fresh
	return list
}

func (g *Gateway) registryAll(ctx context.Context) []registry.Instance {
	if g.opts.Registry == nil {
		return nil
	}
	list, err := g.opts.Registry.Find(ctx, "")
	if err != nil {
		return nil
	}
	return list
}
