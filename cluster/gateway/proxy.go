package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/replicaflow/replicaflow/responses"
)

// attempt carries one try's target through the ReverseProxy and brings
// back its error.
type attempt struct {
	target  *url.URL
	path    string // the path after /{name_service}
	rawPath string
	err     error
}

type attemptKey struct{}

func rewrite(pr *httputil.ProxyRequest) {
	a := pr.In.Context().Value(attemptKey{}).(*attempt)
	pr.Out.URL.Path, pr.Out.URL.RawPath = a.path, a.rawPath
	pr.SetURL(a.target)
	pr.SetXForwarded()
}

// recordError keeps a transport error for serveProxy to act on; nothing has
// been written to the client when the ReverseProxy calls it.
func recordError(_ http.ResponseWriter, r *http.Request, err error) {
	r.Context().Value(attemptKey{}).(*attempt).err = err
}

// idempotent methods may be sent again to another instance.
func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// split turns /{name}/rest into name and /rest (escaped and not).
func split(u *url.URL) (name, path, rawPath string, ok bool) {
	esc := strings.TrimPrefix(u.EscapedPath(), "/")
	seg, rest, _ := strings.Cut(esc, "/")
	name, err := url.PathUnescape(seg)
	if err != nil || name == "" {
		return "", "", "", false
	}
	rawPath = "/" + rest
	path, err = url.PathUnescape(rawPath)
	if err != nil {
		return "", "", "", false
	}
	if path == rawPath {
		rawPath = ""
	}
	return name, path, rawPath, true
}

func (g *Gateway) serveProxy(w http.ResponseWriter, r *http.Request) {
	name, path, rawPath, ok := split(r.URL)
	if !ok {
		responses.WriteProblem(w, r, responses.NewProblem(http.StatusNotFound, "no service in path "+r.URL.Path, nil), nil)
		return
	}
	cands, known, down := g.candidates(r.Context(), name)
	if !known && g.opts.Remote != nil {
		g.serveRemote(w, r, name)
		return
	}
	if !known && down {
		responses.WriteProblem(w, r, responses.NewProblem(http.StatusServiceUnavailable, "the registry is unavailable and service "+name+" is not known yet", nil), responses.RetryAfter(g.opts.RetryAfter))
		return
	}
	if !known {
		responses.WriteProblem(w, r, responses.NewProblem(http.StatusNotFound, "no service named "+name, nil), nil)
		return
	}

	// A body is replayed on another instance only for an idempotent
	// request whose body is small enough to hold.
	var body []byte
	retry := idempotent(r.Method)
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		if retry && r.ContentLength > 0 && r.ContentLength <= g.opts.MaxReplayBody {
			b, err := io.ReadAll(io.LimitReader(r.Body, r.ContentLength+1))
			if err != nil {
				responses.WriteProblem(w, r, responses.NewProblem(http.StatusBadRequest, "reading the request body: "+err.Error(), nil), nil)
				return
			}
			body = b
		} else {
			retry = false
		}
	}

	tried := map[*upstream]bool{}
	var lastErr error
	for n := 0; n < g.opts.MaxAttempts; n++ {
		u := g.acquire(cands, tried)
		if u == nil {
			break
		}
		tried[u] = true
		a := &attempt{target: u.base, path: path, rawPath: rawPath}
		out := r.WithContext(context.WithValue(r.Context(), attemptKey{}, a))
		if body != nil {
			out.Body = io.NopCloser(bytes.NewReader(body))
			out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		}
		g.proxy.ServeHTTP(w, out)
		g.release(u)
		if a.err == nil {
			return
		}
		lastErr = a.err
		if r.Context().Err() != nil {
			return // the client left; nobody to answer
		}
		if timedOut(a.err) {
			g.opts.Logger.Warn("gateway: upstream timed out", "service", name, "upstream", u.base.String())
			responses.WriteProblem(w, r, responses.NewProblem(http.StatusGatewayTimeout, "service "+name+" did not answer in time", nil), nil)
			return
		}
		u.fail(time.Now(), g.opts.Cooldown, a.err)
		g.opts.Logger.Warn("gateway: upstream failed", "service", name, "upstream", u.base.String(), "err", a.err)
		if !retry && !refused(a.err) {
			break // the request may have reached the upstream: not safe to send again
		}
	}
	if lastErr == nil {
		responses.WriteProblem(w, r, responses.NewProblem(http.StatusServiceUnavailable, "no healthy instance of service "+name, nil), responses.RetryAfter(g.opts.RetryAfter))
		return
	}
	responses.WriteProblem(w, r, responses.NewProblem(http.StatusBadGateway, "service "+name+" failed: upstream unreachable", nil), nil)
}

// timedOut reports a timeout waiting for the upstream's answer (not a
// timeout while connecting, which is a connection failure).
func timedOut(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// refused reports a connection that was never made, so even a
// non-idempotent request can go to another instance.
func refused(err error) bool {
	var op *net.OpError
	return errors.Is(err, syscall.ECONNREFUSED) || (errors.As(err, &op) && op.Op == "dial")
}
