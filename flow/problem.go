package flow

import (
	"encoding/json"
	"net/http"

	"github.com/replicaflow/replicaflow/responses"
)

// writeProblem answers with problem details from a plain http.Handler (the
// flow's own routes have no gin context); retryAfter is set when not empty.
func writeProblem(w http.ResponseWriter, r *http.Request, status int, detail, retryAfter string) {
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.Header().Set("Content-Type", responses.ProblemContentType)
	w.WriteHeader(status)
	p := responses.New(status, detail, nil)
	p.Instance = r.URL.Path
	json.NewEncoder(w).Encode(p)
}
