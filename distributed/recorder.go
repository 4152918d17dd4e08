package distributed

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/replicaflow/replicaflow/responses"
)

// recorder is the http.ResponseWriter a worker serves a request into: it
// keeps the status, headers and body in memory, up to limit bytes of body.
// A handler that flushes is streaming, which distributed mode cannot carry:
// the recorder cancels the request and the answer becomes a 501.
type recorder struct {
	header    http.Header
	status    int
	body      bytes.Buffer
	limit     int
	overflow  bool
	streaming bool
	cancel    context.CancelFunc
}

func newRecorder(limit int, cancel context.CancelFunc) *recorder {
	return &recorder{header: http.Header{}, limit: limit, cancel: cancel}
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if r.overflow || r.streaming {
		return len(p), nil
	}
	if r.body.Len()+len(p) > r.limit {
		r.overflow = true
		r.cancel()
		return len(p), nil
	}
	return r.body.Write(p)
}

// Flush marks the answer as streaming and ends the request.
func (r *recorder) Flush() {
	if !r.streaming {
		r.streaming = true
		r.cancel()
	}
}

// problem builds the status, headers and body of problem details.
func problem(status int, detail string, retryAfter time.Duration) (int, http.Header, []byte) {
	h := http.Header{}
	h.Set("Content-Type", responses.ProblemContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	if retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(max(1, int((retryAfter+time.Second-1)/time.Second))))
	}
	b, _ := json.Marshal(responses.Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail})
	return status, h, b
}

// writeProblem writes problem details to an HTTP client.
func writeProblem(w http.ResponseWriter, status int, detail string, retryAfter time.Duration) {
	code, h, b := problem(status, detail, retryAfter)
	for k, v := range h {
		w.Header()[k] = v
	}
	w.WriteHeader(code)
	_, _ = w.Write(b)
}
