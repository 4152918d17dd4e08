// Package httpx holds the HTTP helpers the cluster's roles share.
package httpx

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// ProblemDetails is an RFC 9457 problem.
type ProblemDetails struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// Problem writes an RFC 9457 problem response.
func Problem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(ProblemDetails{
		Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail,
	})
}

// Unavailable writes 503 with a Retry-After header.
func Unavailable(w http.ResponseWriter, retryAfter time.Duration, detail string) {
	secs := int(retryAfter.Round(time.Second) / time.Second)
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	Problem(w, http.StatusServiceUnavailable, detail)
}

// JSON writes v as JSON with status.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// MaxBody is the largest management request body read.
const MaxBody = 64 << 10

// Decode reads a JSON body of at most MaxBody bytes into v and writes a
// 400 or 413 problem when it cannot.
func Decode(w http.ResponseWriter, r *http.Request, v any) bool {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			Problem(w, http.StatusRequestEntityTooLarge, "request body is larger than 64 KiB")
			return false
		}
		Problem(w, http.StatusBadRequest, "malformed JSON body: "+err.Error())
		return false
	}
	return true
}
