package flow

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/replicaflow/replicaflow/responses"
)

func (f *Flow) mountHealth() {
	f.system = append(f.system,
		mount{"/healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"status":"ok"}` + "\n"))
		})},
		mount{"/readyz", http.HandlerFunc(f.serveReady)},
	)
}

// serveReady answers 200 when every service can take requests, else 503 with
// the reasons.
func (f *Flow) serveReady(w http.ResponseWriter, r *http.Request) {
	var reasons []string
	if f.run.stopping.Load() {
		reasons = append(reasons, "the server is shutting down")
	}
	for _, s := range f.Services() {
		if err := s.Ready(); err != nil {
			reasons = append(reasons, s.Name()+": "+err.Error())
		}
	}
	writeReady(w, reasons)
}

func writeReady(w http.ResponseWriter, reasons []string) {
	w.Header().Set("Cache-Control", "no-store")
	if len(reasons) == 0 {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"ready"}` + "\n"))
		return
	}
	w.Header().Set("Content-Type", responses.ProblemContentType)
	w.WriteHeader(http.StatusServiceUnavailable)
	p := responses.New(http.StatusServiceUnavailable, "not ready: "+strings.Join(reasons, "; "), nil)
	p.Instance = "/readyz"
	json.NewEncoder(w).Encode(p)
}
