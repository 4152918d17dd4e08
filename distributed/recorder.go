package distributed

import (
	"bytes"
	"context"
	"net/http"
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
