package distributed

import (
	"fmt"
	"net/http"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
)

// The NATS headers of the wire protocol. A request carries the HTTP method,
// the path under the service's base route (escaped), the raw query, the
// host, the client's address, a deadline and every end-to-end HTTP header
// as HeaderPrefix + its canonical name; the body is the message data. An
// answer carries StatusHeader (an HTTP status code, or Busy) and the
// response headers the same way.
const (
	MethodHeader     = "Replicaflow-Method"
	PathHeader       = "Replicaflow-Path"
	QueryHeader      = "Replicaflow-Query"
	HostHeader       = "Replicaflow-Host"
	RemoteAddrHeader = "Replicaflow-Remote-Addr"
	DeadlineHeader   = "Replicaflow-Deadline" // unix milliseconds
	StatusHeader     = "Replicaflow-Status"
	// HeaderPrefix prefixes forwarded HTTP headers, so that they never
	// collide with NATS's own headers (Status, Nats-*).
	HeaderPrefix = "Http-"
	// Busy is the StatusHeader of a worker that had no free slot: the
	// handler did not run and the request may be sent again, whatever its
	// method.
	Busy = "busy"
	// Expired is the StatusHeader of an answer to a request whose deadline
	// passed on the worker: the ingress has timed out (or is about to), and
	// treats it as a timeout, whichever of the two it sees first.
	Expired = "expired"
)

// DefaultPrefix is the first token of every subject unless one is set.
const DefaultPrefix = "rf"

// DefaultFlow is the flow token of subjects when no flow name is set.
const DefaultFlow = "default"

var (
	serviceNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	tokenRE       = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	prefixRE      = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)
)

// Subject returns the subject a service is served on:
// "<prefix>.<flow>.<name>". The name is the service's stable name; a dot in
// it makes more tokens, which stays unambiguous because the flow is one
// token.
func Subject(prefix, flow, name string) string {
	return prefix + "." + flow + "." + name
}

// checkNames validates a prefix and a flow name for use in subjects.
func checkNames(prefix, flow string) error {
	if !prefixRE.MatchString(prefix) {
		return fmt.Errorf("subject prefix %q must be dot-separated tokens of letters, digits, '-' or '_'", prefix)
	}
	if !tokenRE.MatchString(flow) {
		return fmt.Errorf("flow name %q must be letters, digits, '-' or '_'", flow)
	}
	return nil
}

// microName is the services-framework name of a flow's workers.
func microName(prefix, flow string) string {
	return strings.ReplaceAll(prefix, ".", "-") + "-" + flow
}

// hopByHop headers are not forwarded (RFC 9110 section 7.6.1).
var hopByHop = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

// putHeaders copies HTTP headers into NATS headers under HeaderPrefix with
// canonical names, leaving out hop-by-hop headers and those the
// Connection header names.
func putHeaders(dst nats.Header, src http.Header) {
	skip := map[string]bool{}
	for _, v := range src.Values("Connection") {
		for _, f := range strings.Split(v, ",") {
			skip[textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(f))] = true
		}
	}
	for k, vs := range src {
		ck := textproto.CanonicalMIMEHeaderKey(k)
		if hopByHop[ck] || skip[ck] || len(vs) == 0 {
			continue
		}
		dst[HeaderPrefix+ck] = append(dst[HeaderPrefix+ck], vs...)
	}
}

// takeHeaders copies the forwarded headers of a NATS message into h.
func takeHeaders(h http.Header, src nats.Header) {
	for k, vs := range src {
		if len(k) > len(HeaderPrefix) && strings.EqualFold(k[:len(HeaderPrefix)], HeaderPrefix) {
			ck := textproto.CanonicalMIMEHeaderKey(k[len(HeaderPrefix):])
			h[ck] = append(h[ck], vs...)
		}
	}
}

// headerSize is how many bytes h takes on the wire (NATS/1.0 line, each
// "Key: value\r\n", the final CRLF).
func headerSize(h nats.Header) int {
	n := len("NATS/1.0\r\n\r\n")
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + 2 + len(v) + 2
		}
	}
	return n
}

// idempotent methods may be sent again after a timeout (RFC 9110 9.2.2).
func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// status reads the StatusHeader of an answer: the HTTP status, or busy.
func status(h nats.Header) (code int, busy bool, err error) {
	s := h.Get(StatusHeader)
	if s == Busy {
		return 0, true, nil
	}
	code, err = strconv.Atoi(s)
	if err != nil || code < 100 || code > 999 {
		return 0, false, fmt.Errorf("answer without a valid %s header (%q)", StatusHeader, s)
	}
	return code, false, nil
}
