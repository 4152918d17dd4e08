package flow

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/responses"
)

// mount is a handler under a path prefix: one of the flow's own routes
// (health, docs, metrics, management, what Mount added), or a row of the
// dispatch table.
type mount struct {
	prefix string
	h      http.Handler
}

// table maps path prefixes to handlers: a request goes to the longest
// prefix that is its path or a parent of it. A prefix matches whole
// segments, so only the prefixes that share the path's first segment can
// match, and those are all the lookup compares, besides "/" which matches
// every path. It is never changed once built: the flow swaps in a new one.
type table struct {
	bySegment map[string][]mount // prefixes other than "/", by first segment, longest first
	root      http.Handler       // the handler of "/", if any
	fallback  http.Handler       // when no prefix matches
}

func newTable(entries []mount, fallback http.Handler) *table {
	t := &table{bySegment: map[string][]mount{}, fallback: fallback}
	entries = slices.Clone(entries)
	slices.SortStableFunc(entries, func(a, b mount) int { return len(b.prefix) - len(a.prefix) })
	for _, m := range entries {
		if m.prefix == "/" {
			if t.root == nil {
				t.root = m.h
			}
			continue
		}
		seg := firstSegment(m.prefix)
		t.bySegment[seg] = append(t.bySegment[seg], m)
	}
	return t
}

func (t *table) lookup(path string) http.Handler {
	for _, m := range t.bySegment[firstSegment(path)] {
		p := m.prefix
		if path == p || len(path) > len(p) && path[len(p)] == '/' && path[:len(p)] == p {
			return m.h
		}
	}
	if t.root != nil {
		return t.root
	}
	return t.fallback
}

// firstSegment is the first segment of a path: "users" for "/users/7".
func firstSegment(path string) string {
	path = strings.TrimPrefix(path, "/")
	if i := strings.IndexByte(path, '/'); i >= 0 {
		return path[:i]
	}
	return path
}

// rebuildLocked builds the dispatch table from the services and mounts and
// swaps it in.
func (f *Flow) rebuildLocked() {
	var entries []mount
	for _, m := range f.system {
		entries = append(entries, mount{m.prefix, f.chainLocked(serve(m.h))})
	}
	for _, s := range f.services {
		entries = append(entries, mount{s.BaseRoute(), s})
	}
	f.table.Store(newTable(entries, f.chainLocked(noService)))
}

// chainLocked runs h behind the flow's middleware (what Use added), so the
// flow's own routes get what every service gets: request IDs, CORS, auth.
// Services run that middleware in their own engines.
func (f *Flow) chainLocked(h gin.HandlerFunc) http.Handler {
	e := gin.New()
	e.ContextWithFallback = true
	e.Use(f.middleware...)
	e.NoRoute(h)
	return e
}

// serve adapts a mounted handler to the chain: gin reaches it as its
// no-route handler, with the status preset to 404, which the handler owns.
func serve(h http.Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Status(http.StatusOK)
		h.ServeHTTP(c.Writer, c.Request)
	}
}

// noService answers a path that no service or route of the flow's owns.
func noService(c *gin.Context) {
	responses.AbortWithProblem(c, responses.NewProblem(http.StatusNotFound, "no service at "+c.Request.URL.Path, nil), nil)
}

// Mount serves h under a path prefix of the flow's own (an exact path like
// "/healthz" or a subtree like "/admin"), beside the services. h sees the
// full path. It panics when the prefix is already taken by a service or
// another mount.
func (f *Flow) Mount(prefix string, h http.Handler) {
	if err := f.mount(prefix, h); err != nil {
		panic("replicaflow: " + err.Error())
	}
}

func (f *Flow) mount(prefix string, h http.Handler) error {
	if !strings.HasPrefix(prefix, "/") || prefix == "/" || strings.HasSuffix(prefix, "/") {
		return fmt.Errorf("mount prefix %q must be a path like /docs", prefix)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range f.system {
		if m.prefix == prefix {
			return fmt.Errorf("mount prefix %s is already taken", prefix)
		}
	}
	for _, s := range f.services {
		if overlaps(prefix, s.BaseRoute()) {
			return fmt.Errorf("mount prefix %s collides with %s", prefix, s)
		}
	}
	f.system = append(f.system, mount{prefix, h})
	f.rebuildLocked()
	return nil
}

// overlaps reports whether a service at base would shadow or be shadowed by
// the flow's own route at prefix.
func overlaps(prefix, base string) bool {
	return base == prefix || strings.HasPrefix(base, prefix+"/")
}
