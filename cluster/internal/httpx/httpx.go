// Package httpx holds the HTTP helpers the cluster's roles share. Their
// errors are answered with responses.WriteProblem, as everywhere in the
// module.
package httpx

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/replicaflow/replicaflow/responses"
)

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
			responses.WriteProblem(w, r, responses.NewProblem(http.StatusRequestEntityTooLarge, "request body is larger than 64 KiB", nil), nil)
			return false
		}
		responses.WriteProblem(w, r, responses.NewProblem(http.StatusBadRequest, "malformed JSON body: "+err.Error(), nil), nil)
		return false
	}
	return true
}
