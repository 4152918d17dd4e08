package middleware

import (
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/responses"
)

// HTTPSOption changes how HTTPSRedirect tells and redirects plain-HTTP
// requests.
type HTTPSOption func(*httpsConfig)

type httpsConfig struct {
	trustProxy bool
	port       int
}

// TrustProxy makes HTTPSRedirect believe the X-Forwarded-Proto header (its
// first value) about the scheme the client used. Turn it on only behind a
// proxy that terminates TLS and sets that header, or clients can skip the
// redirect by sending it. Default false: only the connection counts.
func TrustProxy(trust bool) HTTPSOption {
	return func(c *httpsConfig) { c.trustProxy = trust }
}

// HTTPSPort sets the port HTTPSRedirect sends clients to. Default 443, which
// is left out of the URL. It panics outside 1-65535.
func HTTPSPort(port int) HTTPSOption {
	if port < 1 || port > 65535 {
		panic("replicaflow: middleware.HTTPSPort: port " + strconv.Itoa(port) + " is outside 1-65535")
	}
	return func(c *httpsConfig) { c.port = port }
}

// HTTPSRedirect returns middleware that redirects requests made over plain
// HTTP to the same host, path and query over HTTPS, and lets HTTPS requests
// through. GET and HEAD get 307 Temporary Redirect, other methods 308
// Permanent Redirect, so that no method or body is ever rewritten. A GET is
// not sent 301 because browsers cache 301 for good, and a mistake (such as no
// TLS on the port) would then outlive its fix; use HSTS to make HTTPS stick.
//
// A request is HTTPS when its connection is TLS, or, with TrustProxy(true),
// when the first X-Forwarded-Proto value is "https". A plain-HTTP request
// without a Host gets 400 problem details.
func HTTPSRedirect(opts ...HTTPSOption) gin.HandlerFunc {
	cfg := httpsConfig{port: 443}
	for _, o := range opts {
		o(&cfg)
	}
	port := strconv.Itoa(cfg.port)
	return func(c *gin.Context) {
		r := c.Request
		if r.TLS != nil || (cfg.trustProxy && forwardedHTTPS(r.Header)) {
			return
		}
		host := r.Host
		if host == "" {
			responses.AbortWithProblem(c, responses.NewProblem(http.StatusBadRequest,
				"the request has no Host to redirect to HTTPS", nil), nil)
			return
		}
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		} else {
			host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		}
		if cfg.port != 443 {
			host = net.JoinHostPort(host, port)
		} else if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		code := http.StatusPermanentRedirect
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			code = http.StatusTemporaryRedirect
		}
		c.Redirect(code, "https://"+host+r.URL.RequestURI())
		c.Abort()
	}
}

// forwardedHTTPS reports whether the first X-Forwarded-Proto value is https.
func forwardedHTTPS(h http.Header) bool {
	v := h.Get("X-Forwarded-Proto")
	if i := strings.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	return strings.EqualFold(strings.TrimSpace(v), "https")
}
