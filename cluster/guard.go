package cluster

import (
	"crypto/subtle"
	"net"
	"net/http"
	"strings"

	"github.com/replicaflow/replicaflow/responses"
)

// Protect guards h, a handler that changes the running system. With a
// token, a request needs "Authorization: Bearer <token>" (compared in
// constant time) or gets 401. Without one, only loopback peers are served
// and the rest get 403; a request that a proxy forwarded (it carries
// Forwarded, X-Forwarded-For or X-Real-IP) is not a loopback client even when
// the proxy, such as the gateway, runs on this machine.
func Protect(token string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !Allowed(token, w, r) {
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Allowed applies Protect's rule to one request; when it refuses, it has
// already written the problem response.
func Allowed(token string, w http.ResponseWriter, r *http.Request) bool {
	if token == "" {
		if isLoopback(r.RemoteAddr) && !forwarded(r.Header) {
			return true
		}
		responses.WriteProblem(w, r, responses.NewProblem(http.StatusForbidden, "only loopback clients may call this when no token is set", nil), nil)
		return false
	}
	auth := r.Header.Get("Authorization")
	const scheme = "bearer "
	if len(auth) > len(scheme) && strings.EqualFold(auth[:len(scheme)], scheme) &&
		subtle.ConstantTimeCompare([]byte(strings.TrimSpace(auth[len(scheme):])), []byte(token)) == 1 {
		return true
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="replicaflow"`)
	responses.WriteProblem(w, r, responses.NewProblem(http.StatusUnauthorized, "a valid bearer token is required", nil), nil)
	return false
}

// forwarded reports whether a proxy says the request came from elsewhere.
func forwarded(h http.Header) bool {
	return h.Get("Forwarded") != "" || h.Get("X-Forwarded-For") != "" || h.Get("X-Real-Ip") != ""
}

func isLoopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
