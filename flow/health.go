package flow

import (
	"net/http"
	"strings"

	"github.com/replicaflow/replicaflow/responses"
)

func (f *Flow) mountHealth() {
	f.system = append(f.system,
		mount{"/healthz", probe("/healthz", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"status":"ok"}` + "\n"))
		})},
		mount{"/readyz", probe("/readyz", f.serveReady)},
	)
}

// probe serves a health check at exactly path, to GET and HEAD: a path
// below it is 404 and another method 405, as problem details.
func probe(path string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path != path:
			responses.WriteProblem(w, r, responses.NewProblem(http.StatusNotFound, "no route at "+r.URL.Path, nil), nil)
		case r.Method != http.MethodGet && r.Method != http.MethodHead:
			w.Header().Set("Allow", "GET, HEAD")
			responses.WriteProblem(w, r, responses.NewProblem(http.StatusMethodNotAllowed, r.Method+" is not allowed here; allowed: GET, HEAD", nil), nil)
		default:
			h(w, r)
		}
	})
}

// serveReady answers 200 when every service can take requests, else 503 with
// the reasons.
func (f *Flow) serveReady(w http.ResponseWriter, r *http.Request) {
	var reasons []string
	if f.run.load() == Stopping {
		reasons = append(reasons, "the server is shutting down")
	}
	for _, s := range f.Services() {
		if err := s.Ready(); err != nil {
			reasons = append(reasons, s.Name()+": "+err.Error())
		}
	}
	writeReady(w, r, reasons)
}

func writeReady(w http.ResponseWriter, r *http.Request, reasons []string) {
	w.Header().Set("Cache-Control", "no-store")
	if len(reasons) == 0 {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"ready"}` + "\n"))
		return
	}
	responses.WriteProblem(w, r, responses.NewProblem(http.StatusServiceUnavailable, "not ready: "+strings.Join(reasons, "; "), nil), nil)
}
