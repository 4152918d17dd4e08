package distributed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/replicaflow/replicaflow/responses"
)

// serve rebuilds the HTTP request a message carries, serves it with the
// service's own handler and publishes the answer.
func (e *export) serve(m *nats.Msg) {
	w := e.w
	limit := int(w.nc.MaxPayload())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if ms, err := strconv.ParseInt(m.Header.Get(DeadlineHeader), 10, 64); err == nil && ms > 0 {
		deadline := time.UnixMilli(ms)
		if time.Until(deadline) <= 0 {
			w.expired(m.Reply)
			return
		}
		var c2 context.CancelFunc
		ctx, c2 = context.WithDeadline(ctx, deadline)
		defer c2()
	}
	req, err := buildRequest(ctx, e.svc.BaseRoute(), m)
	if err != nil {
		w.answer(m.Reply, http.StatusBadRequest, err.Error())
		return
	}
	rec := newRecorder(limit, cancel)
	if p := run(e, rec, req); p != nil {
		w.answer(m.Reply, http.StatusInternalServerError, "the request failed")
		w.opts.Logger.Error("distributed: handler panicked", "service", e.svc.Name(), "panic", fmt.Sprint(p))
		return
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		w.expired(m.Reply) // the ingress's attempt is over: it decides (504, or once more)
		return
	}
	switch {
	case rec.streaming:
		w.answer(m.Reply, http.StatusNotImplemented,
			"this endpoint streams its answer; streaming endpoints are served locally only, not in distributed mode")
		return
	case rec.overflow:
		w.answer(m.Reply, http.StatusBadGateway, fmt.Sprintf(
			"the answer is larger than the NATS payload limit of %d bytes; distributed mode cannot carry it", limit))
		return
	}
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	h := nats.Header{}
	rec.header.Del("Content-Length")
	putHeaders(h, rec.header)
	h[StatusHeader] = []string{strconv.Itoa(status)}
	if headerSize(h)+rec.body.Len() > limit {
		w.answer(m.Reply, http.StatusBadGateway, fmt.Sprintf(
			"the answer is larger than the NATS payload limit of %d bytes; distributed mode cannot carry it", limit))
		return
	}
	w.reply(m.Reply, h, rec.body.Bytes())
}

// run serves req with the service's handler, returning a panic that
// escaped it, and removes the temporary files of the form it parsed.
func run(e *export, rec *recorder, req *http.Request) (p any) {
	defer func() {
		p = recover()
		// A multipart form's files over the memory threshold went to
		// temporary files; net/http removes them after a handler, and so
		// must this path, before the answer goes out.
		removeForm(req)
	}()
	e.svc.ServeHTTP(rec, req)
	return nil
}

// removeForm removes the temporary files of req's multipart form, if the
// handler parsed one.
func removeForm(req *http.Request) {
	if req.MultipartForm != nil {
		_ = req.MultipartForm.RemoveAll()
	}
}

// expired tells the ingress that the request's deadline passed here.
func (w *Exporter) expired(reply string) {
	w.reply(reply, nats.Header{StatusHeader: []string{Expired}}, nil)
}

// answer publishes problem details.
func (w *Exporter) answer(reply string, code int, detail string) {
	rec := newRecorder(math.MaxInt, func() {})
	responses.WriteProblem(rec, nil, responses.NewProblem(code, detail, nil), nil)
	h := nats.Header{}
	putHeaders(h, rec.header)
	h[StatusHeader] = []string{strconv.Itoa(rec.status)}
	w.reply(reply, h, rec.body.Bytes())
}

// buildRequest turns a message into the HTTP request it carries; the path
// is joined to the service's base route.
func buildRequest(ctx context.Context, base string, m *nats.Msg) (*http.Request, error) {
	method := m.Header.Get(MethodHeader)
	if method == "" {
		return nil, fmt.Errorf("the message has no %s header", MethodHeader)
	}
	rel := m.Header.Get(PathHeader)
	if rel != "" && !strings.HasPrefix(rel, "/") {
		return nil, fmt.Errorf("%s %q must start with /", PathHeader, rel)
	}
	p := base + rel
	switch {
	case base == "/" && rel == "":
		p = "/"
	case base == "/":
		p = rel
	}
	uri := p
	if q := m.Header.Get(QueryHeader); q != "" {
		uri += "?" + q
	}
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		return nil, fmt.Errorf("malformed path or query: %v", err)
	}
	h := http.Header{}
	takeHeaders(h, m.Header)
	var body io.ReadCloser = http.NoBody
	if len(m.Data) > 0 {
		body = nopCloser{bytes.NewReader(m.Data)}
	}
	r := &http.Request{
		Method: method, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: body, ContentLength: int64(len(m.Data)),
		Host: m.Header.Get(HostHeader), RemoteAddr: m.Header.Get(RemoteAddrHeader), RequestURI: uri,
	}
	if len(m.Data) == 0 {
		r.ContentLength = 0
	}
	return r.WithContext(ctx), nil
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }
