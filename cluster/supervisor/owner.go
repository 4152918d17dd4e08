package supervisor

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"

	"github.com/replicaflow/replicaflow/registry"
)

// errNotOwner is returned for a call that would move or remove an instance
// without its secret.
var errNotOwner = errors.New("supervisor: the instance belongs to the worker that registered it")

// newSecret returns a fresh instance secret (128 random bits).
func newSecret() string { return rand.Text() }

// hashSecret is what the registry keeps of a secret.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// ownedBy reports whether secret is the one inst was handed out with.
func ownedBy(inst registry.Instance, secret string) bool {
	return secret != "" && inst.Owner != "" &&
		subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(inst.Owner)) == 1
}

// sameEndpoint reports whether b is reached and checked exactly where a is,
// so that accepting it from anyone sends no traffic or check elsewhere.
func sameEndpoint(a, b registry.Instance) bool {
	return strings.EqualFold(a.BaseURL(), b.BaseURL()) && a.HealthPath == b.HealthPath &&
		a.HealthInterval == b.HealthInterval
}

// refused logs a call that tried to take over or remove another worker's
// instance.
func (s *Supervisor) refused(r *http.Request, call, service, id string) {
	s.opts.Logger.Warn("supervisor: refused a call on an instance owned by another worker",
		"call", call, "service", service, "id", id, "remote", r.RemoteAddr)
}
