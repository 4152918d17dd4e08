// Package guard protects the routes that reveal or change the running
// system: the management API, the dashboard's data, the supervisor's
// registration and the gateway's service management. They all share one
// rule, applied by Protect or Allowed.
//
// With a token, a request needs "Authorization: Bearer <token>" (compared in
// constant time) or gets 401. The token never lives in a cookie, so a web
// page on another origin cannot send it.
//
// Without a token (the loopback mode), a request is served only when all of
// these hold, and gets a problem-details answer otherwise:
//
//   - The connection comes from a loopback address (127.0.0.0/8 or ::1) and
//     carries no forwarding header: no line at all, even an empty one, of
//     Forwarded, X-Forwarded-For or X-Real-IP. A proxy on this machine, such
//     as the gateway, does not make its clients loopback. These three are
//     the only headers recognised: a proxy on this machine that adds none of
//     them (Via, X-Client-IP, True-Client-IP and the like do not count) makes
//     every client look local, so behind such a proxy set a token. No header
//     can make a client loopback; only the connection's address does. (403)
//   - The Host header names this machine: localhost or a loopback address,
//     with any port. A page whose DNS name was rebound to 127.0.0.1 sends
//     its own name and is refused, so it cannot read what these routes
//     answer. (403)
//   - The browser does not say the request comes from another site:
//     Sec-Fetch-Site is not cross-site or same-site, and an Origin header,
//     when present, names the same host and port as Host. A GET or HEAD
//     that is a top-level navigation (Sec-Fetch-Mode: navigate), such as a
//     link to the dashboard, is let through: the other site cannot read the
//     page it opens. (403)
//   - A request that may change state (any method but GET, HEAD and
//     OPTIONS) says Content-Type: application/json. An HTML form or a
//     no-cors fetch cannot send that type without a CORS preflight, which
//     these routes never grant. (415, also when Content-Type is missing)
package guard

import (
	"crypto/subtle"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/replicaflow/replicaflow/responses"
)

// Protect guards h with the package's rule: with a token, a bearer token;
// without one, the loopback mode's checks.
func Protect(token string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !Allowed(token, w, r) {
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Allowed applies Protect's rule to one request. When it refuses, it has
// already written the problem-details answer.
func Allowed(token string, w http.ResponseWriter, r *http.Request) bool {
	if token != "" {
		if bearer(r.Header.Get("Authorization"), token) {
			return true
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="replicaflow"`)
		writeProblem(w, r, http.StatusUnauthorized, "a valid bearer token is required")
		return false
	}
	switch {
	case !loopbackAddr(r.RemoteAddr) || forwarded(r.Header):
		writeProblem(w, r, http.StatusForbidden, "only loopback clients may call this when no token is set")
	case !loopbackHost(r.Host):
		writeProblem(w, r, http.StatusForbidden, "the Host header must be localhost or a loopback address when no token is set")
	case crossSite(r):
		writeProblem(w, r, http.StatusForbidden, "requests from another site are refused when no token is set")
	case changesState(r.Method) && !isJSON(r.Header.Get("Content-Type")):
		writeProblem(w, r, http.StatusUnsupportedMediaType, "send Content-Type: application/json; no other type is accepted when no token is set")
	default:
		return true
	}
	return false
}

// bearer reports whether auth is "Bearer <token>" (any case of the scheme).
func bearer(auth, token string) bool {
	const scheme = "bearer "
	return len(auth) > len(scheme) && strings.EqualFold(auth[:len(scheme)], scheme) &&
		subtle.ConstantTimeCompare([]byte(strings.TrimSpace(auth[len(scheme):])), []byte(token)) == 1
}

// forwarded reports whether a proxy says the request came from elsewhere:
// any line of any forwarding header counts, even an empty one, so that an
// empty first line cannot hide the one a proxy appended.
func forwarded(h http.Header) bool {
	for _, k := range []string{"Forwarded", "X-Forwarded-For", "X-Real-Ip"} {
		if len(h.Values(k)) > 0 {
			return true
		}
	}
	return false
}

// loopbackAddr reports whether a connection's remote address is loopback.
func loopbackAddr(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// loopbackHost reports whether a Host header names this machine: localhost
// or a loopback address, with or without a port.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// crossSite reports whether a browser says the request comes from another
// origin. A top-level navigation by GET or HEAD is not refused: the page it
// opens cannot be read by the site that linked to it.
func crossSite(r *http.Request) bool {
	if !changesState(r.Method) && r.Header.Get("Sec-Fetch-Mode") == "navigate" {
		return false
	}
	for _, v := range r.Header.Values("Sec-Fetch-Site") {
		if v == "cross-site" || v == "same-site" {
			return true
		}
	}
	for _, o := range r.Header.Values("Origin") {
		u, err := url.Parse(o)
		if err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host) {
			return true // "null", a malformed origin, or another host or port
		}
	}
	return false
}

// changesState reports whether a method may change state.
func changesState(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// isJSON reports whether a Content-Type is application/json (parameters
// such as charset are allowed).
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

// writeProblem writes a refusal as problem details.
func writeProblem(w http.ResponseWriter, r *http.Request, status int, detail string) {
	responses.WriteProblem(w, r, responses.NewProblem(status, detail, nil), nil)
}
