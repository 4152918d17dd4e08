package openapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/replicaflow/replicaflow/openapi/oas"
	"github.com/replicaflow/replicaflow/responses"
)

// Spec is the current document of a changing set of operations. It builds
// the document when first asked, keeps it until Invalidate, and is safe for
// concurrent use: any number of readers, one build at a time.
type Spec struct {
	info   Info
	source func() []Operation

	gen  atomic.Uint64            // bumped by Invalidate
	snap atomic.Pointer[snapshot] // the last build
	mu   sync.Mutex               // one build at a time
}

type snapshot struct {
	gen  uint64
	doc  *oas.Document
	json []byte
	etag string
	err  error
}

// NewSpec returns a Spec that describes the operations source returns.
// source is called on the first request after each Invalidate, never
// concurrently with itself.
func NewSpec(info Info, source func() []Operation) *Spec {
	if source == nil {
		panic("replicaflow: openapi.NewSpec needs a source of operations")
	}
	return &Spec{info: info, source: source}
}

// Invalidate drops the cached document: call it when services or endpoints
// are added or removed. The next request builds a new one.
func (s *Spec) Invalidate() { s.gen.Add(1) }

// JSON returns the document as JSON, building it if the set of operations
// changed since the last build.
func (s *Spec) JSON() ([]byte, error) {
	snap := s.current()
	return snap.json, snap.err
}

// Document returns the current document. It is shared: do not modify it.
func (s *Spec) Document() (*oas.Document, error) {
	snap := s.current()
	return snap.doc, snap.err
}

func (s *Spec) current() *snapshot {
	gen := s.gen.Load()
	if snap := s.snap.Load(); snap != nil && snap.gen == gen {
		return snap
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	gen = s.gen.Load() // an Invalidate after this point triggers the next build
	if snap := s.snap.Load(); snap != nil && snap.gen == gen {
		return snap
	}
	snap := &snapshot{gen: gen}
	snap.doc, snap.err = Build(s.info, s.source())
	if snap.err == nil {
		snap.json, snap.err = json.Marshal(snap.doc)
	}
	if snap.err != nil {
		slog.Error("replicaflow: cannot build the OpenAPI document", "err", snap.err)
	} else {
		sum := sha256.Sum256(snap.json)
		snap.etag = `"` + hex.EncodeToString(sum[:12]) + `"`
	}
	s.snap.Store(snap)
	return snap
}

// Handler serves the document as application/json to GET and HEAD, with an
// ETag so that clients can revalidate cheaply. A document that cannot be
// built is a 500 problem (the cause is logged, not sent).
func (s *Spec) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			responses.WriteProblem(w, r, responses.NewProblem(http.StatusMethodNotAllowed, "the OpenAPI document is read with GET", nil), nil)
			return
		}
		snap := s.current()
		if snap.err != nil {
			responses.WriteProblem(w, r, responses.NewProblem(http.StatusInternalServerError, "the OpenAPI document could not be built", nil), nil)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("ETag", snap.etag)
		h.Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(snap.json))
	})
}
