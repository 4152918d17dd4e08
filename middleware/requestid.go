package middleware

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/requests"
	"github.com/replicaflow/replicaflow/responses"
)

// RequestIDKey is the gin context key under which RequestID stores the
// request's ID (c.GetString(RequestIDKey)). Being a string, it also answers
// ctx.Value(RequestIDKey) on a *gin.Context.
const RequestIDKey = "replicaflow/request-id"

// requestIDHeader is responses.RequestIDHeader in canonical form, for
// setting the header without canonicalizing it on every request.
var requestIDHeader = http.CanonicalHeaderKey(responses.RequestIDHeader)

// MaxRequestIDLen is the longest incoming X-Request-ID that RequestID keeps.
const MaxRequestIDLen = 128

// RequestID returns middleware that gives every request an ID. It keeps the
// incoming X-Request-ID when it is valid: 1 to MaxRequestIDLen characters,
// each a letter, a digit or one of "-_.:+/=". Otherwise it makes a new one: 32
// hex digits from 16 random bytes. The ID goes in the X-Request-ID response
// header (where problem details pick it up) and in the gin context, where
// RequestIDFrom finds it.
//
// Install it first, so that every answer, errors included, carries the ID.
func RequestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		var id string
		if v := c.Request.Header[requestIDHeader]; len(v) > 0 {
			id = v[0]
		}
		if !validRequestID(id) {
			id = newRequestID()
		}
		c.Writer.Header()[requestIDHeader] = []string{id}
		c.Set(RequestIDKey, id)
	}
}

// RequestIDFrom returns the ID RequestID gave the request ctx belongs to (ctx
// is a handler's ctx, the *gin.Context or a context derived from either), or
// "" when there is none.
func RequestIDFrom(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	c := requests.GinContext(ctx)
	if c == nil {
		return ""
	}
	return c.GetString(RequestIDKey)
}

// validRequestID reports whether id is short and made of safe characters
// only: nothing that could break a log line or a header.
func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > MaxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		b := id[i]
		switch {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		case b == '-', b == '_', b == '.', b == ':', b == '+', b == '/', b == '=':
		default:
			return false
		}
	}
	return true
}

// newRequestID returns 16 random bytes in hex.
func newRequestID() string {
	var raw [16]byte
	var out [32]byte
	rand.Read(raw[:]) // never fails (crypto/rand, Go 1.24+)
	hex.Encode(out[:], raw[:])
	return string(out[:])
}
