package distributed_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/replicaflow/replicaflow/distributed"
	"github.com/replicaflow/replicaflow/internal/testutil"
)

// Everything but transport details must be the same through NATS as
// locally: status, content type and the bytes of the body.
func TestSameAnswersAsLocal(t *testing.T) {
	c := newCluster(t, 4, distributed.IngressOptions{})
	json := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name, method, path, body string
		want                     int
	}{
		{"ok", "POST", "/people", `{"name":"ada","age":36}`, 200},
		{"validation fields", "POST", "/people", `{"age":-3}`, 422},
		{"malformed JSON", "POST", "/people", `{"name":`, 400},
		{"no endpoint", "GET", "/people/nothing", "", 404},
		{"method not allowed", "DELETE", "/people/headers", "", 405},
		{"bad query", "GET", "/people/slow?ms=abc", "", 422},
		{"escaped path and query", "GET", "/people/a%2Fb?x=1&x=2&y=%20", "", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := do(t, c.local.URL, tt.method, tt.path, tt.body, json)
			rem := do(t, c.remote.URL, tt.method, tt.path, tt.body, json)
			if loc.status != tt.want {
				t.Fatalf("local status %d, want %d: %s", loc.status, tt.want, loc.body)
			}
			if rem.status != loc.status || rem.body != loc.body {
				t.Errorf("remote %d %s\nlocal  %d %s", rem.status, rem.body, loc.status, loc.body)
			}
			for _, k := range []string{"Content-Type", "Allow", "Retry-After"} {
				if rem.header.Get(k) != loc.header.Get(k) {
					t.Errorf("%s: remote %q, local %q", k, rem.header.Get(k), loc.header.Get(k))
				}
			}
		})
	}
	// The 422 lists each field, through NATS too.
	rem := do(t, c.remote.URL, "POST", "/people", `{"age":200}`, json)
	var p struct {
		Errors []struct{ Field string } `json:"errors"`
	}
	if err := jsonUnmarshal(rem.body, &p); err != nil || len(p.Errors) != 2 {
		t.Errorf("422 problem should list name and age: %s (%v)", rem.body, err)
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// Request headers reach the handler exactly (multi-valued, canonical case)
// and answer headers come back exactly.
func TestHeadersRoundTrip(t *testing.T) {
	c := newCluster(t, 4, distributed.IngressOptions{})
	h := http.Header{
		"X-Multi":          {"a", "b", "c"},
		"x-MiXeD-case":     {"v1"}, // net/http canonicalizes on the way in
		"X-Spaces":         {"  padded value  "},
		"X-Utf8":           {"h\u00e9llo"},
		"Accept-Language":  {"fr-CH, fr;q=0.9"},
		"Status":           {"not a NATS status"},
		"Nats-Service-Foo": {"not NATS either"},
	}
	loc := do(t, c.local.URL, "GET", "/people/headers", "", h)
	rem := do(t, c.remote.URL, "GET", "/people/headers", "", h)
	var lh, rh map[string][]string
	if err := jsonUnmarshal(loc.body, &lh); err != nil {
		t.Fatal(err)
	}
	if err := jsonUnmarshal(rem.body, &rh); err != nil {
		t.Fatal(err)
	}
	for k, v := range lh {
		if k == "Connection" || k == "Keep-Alive" {
			continue
		}
		if !slices.Equal(rh[k], v) {
			t.Errorf("request header %s: remote %q, local %q", k, rh[k], v)
		}
	}
	for _, k := range []string{"X-Multi", "X-Mixed-Case", "Status", "Nats-Service-Foo"} {
		if len(rh[k]) == 0 {
			t.Errorf("request header %s did not reach the handler: %v", k, rh)
		}
	}
	for _, k := range []string{"Echo-X-Multi", "Echo-X-Mixed-Case", "Echo-X-Spaces", "Echo-X-Utf8"} {
		if !slices.Equal(rem.header[k], loc.header[k]) || len(loc.header[k]) == 0 {
			t.Errorf("answer header %s: remote %q, local %q", k, rem.header[k], loc.header[k])
		}
	}
	if got := rem.header["Echo-X-Multi"]; !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("multi-valued answer header: %q", got)
	}
}

func TestBodyOverPayloadLimit(t *testing.T) {
	c := newCluster(t, 4, distributed.IngressOptions{})
	big := strings.Repeat("x", 2<<20)
	res := do(t, c.remote.URL, "POST", "/people/upload", big, nil)
	if res.status != http.StatusRequestEntityTooLarge || !strings.Contains(res.body, "payload limit") ||
		res.header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("2 MiB body: %d %s", res.status, res.body)
	}
	if c.worker.Exports()[0].Served != 0 {
		t.Error("the worker should not have seen the request")
	}
	// A body under the limit goes through.
	res = do(t, c.remote.URL, "POST", "/people/upload", big[:512<<10], nil)
	if res.status != 200 || res.body != "524288" {
		t.Fatalf("512 KiB body: %d %s", res.status, res.body)
	}
}

func TestNoWorkersIs503AtOnce(t *testing.T) {
	in, err := distributed.NewIngress(connect(t), distributed.IngressOptions{Prefix: uniquePrefix(t), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var times []time.Duration
	for range 5 {
		rec := newRecorder()
		req, _ := http.NewRequest("GET", "/people/x", nil)
		start := time.Now()
		in.Forward(rec, req, "people", "/x")
		times = append(times, time.Since(start))
		if rec.code != 503 || rec.h.Get("Retry-After") == "" || !strings.Contains(rec.body.String(), "no worker") {
			t.Fatalf("no workers: %d %v %s", rec.code, rec.h, rec.body.String())
		}
	}
	slices.Sort(times)
	if times[2] > 50*time.Millisecond { // the median, well below the 5s timeout
		t.Errorf("no workers should answer at once; median %v", times[2])
	}
}

// Four times the capacity: every answer is 200 or 503 with Retry-After,
// and the worker answered busy rather than queueing.
func TestOverloadGivesOnly200And503(t *testing.T) {
	c := newCluster(t, 2, distributed.IngressOptions{MaxBusyWait: 60 * time.Millisecond})
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 6 {
				res := do(t, c.remote.URL, "GET", "/people/slow?ms=40", "", nil)
				mu.Lock()
				counts[res.status]++
				mu.Unlock()
				if res.status == 503 && res.header.Get("Retry-After") == "" {
					t.Errorf("503 without Retry-After: %s", res.body)
				}
			}
		})
	}
	wg.Wait()
	if len(counts) > 2 || counts[200] == 0 || counts[503] == 0 {
		t.Errorf("want only 200s and 503s (some of each), got %v", counts)
	}
	st := c.worker.Exports()[0]
	if st.Busy == 0 || st.Dropped != 0 {
		t.Errorf("worker stats %+v", st)
	}
	if c.ingress.BusyRetries() == 0 {
		t.Error("the ingress should have retried busy answers")
	}
}

// A timeout is 504; an idempotent request is tried once more first, a POST
// is not.
func TestTimeout(t *testing.T) {
	c := newCluster(t, 4, distributed.IngressOptions{Timeout: 400 * time.Millisecond})
	for _, tt := range []struct {
		method string
		calls  int64
	}{{"GET", 2}, {"POST", 1}} {
		c.calls.Store(0)
		res := do(t, c.remote.URL, tt.method, "/people/slow?ms=5000", "", nil)
		if res.status != http.StatusGatewayTimeout {
			t.Fatalf("%s: %d %s", tt.method, res.status, res.body)
		}
		time.Sleep(100 * time.Millisecond) // no third attempt may come
		if got := c.calls.Load(); got != tt.calls {
			t.Errorf("%s ran %d times, want %d (answer %s)", tt.method, got, tt.calls, res.body)
		}
	}
}

func TestStreamingIsLocalOnly(t *testing.T) {
	c := newCluster(t, 4, distributed.IngressOptions{})
	if loc := do(t, c.local.URL, "GET", "/people/stream", "", nil); loc.status != 200 {
		t.Fatalf("local stream: %d", loc.status)
	}
	res := do(t, c.remote.URL, "GET", "/people/stream", "", nil)
	if res.status != http.StatusNotImplemented || !strings.Contains(res.body, "locally only") {
		t.Fatalf("remote stream: %d %s", res.status, res.body)
	}
}

// Shutdown stops taking messages but answers every request it took.
func TestShutdownAnswersWhatItTook(t *testing.T) {
	c := newCluster(t, 8, distributed.IngressOptions{})
	var wg sync.WaitGroup
	results := make(chan int, 8)
	for range 8 {
		wg.Go(func() { results <- do(t, c.remote.URL, "GET", "/people/slow?ms=300", "", nil).status })
	}
	testutil.WaitFor(t, "8 requests in flight", 5*time.Second, func() bool { return c.worker.Exports()[0].InFlight >= 8 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.worker.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(results)
	for s := range results {
		if s != 200 {
			t.Errorf("a request taken before shutdown got %d", s)
		}
	}
	if res := do(t, c.remote.URL, "GET", "/people/slow?ms=1", "", nil); res.status != 503 {
		t.Errorf("after shutdown: %d %s", res.status, res.body)
	}
}

// The services framework answers for the worker, and Instances reads the
// replica counts back.
func TestDiscovery(t *testing.T) {
	c := newCluster(t, 3, distributed.IngressOptions{})
	nc := connect(t)
	ping, err := nc.Request("$SRV.PING."+c.prefix+"-default", nil, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var p micro.Ping
	if err := json.Unmarshal(ping.Data, &p); err != nil || p.Type != micro.PingResponseType || p.Metadata["node"] != "w1" {
		t.Fatalf("ping: %s (%v)", ping.Data, err)
	}
	info, err := nc.Request("$SRV.INFO."+c.prefix+"-default", nil, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var i micro.Info
	if err := json.Unmarshal(info.Data, &i); err != nil || len(i.Endpoints) != 1 ||
		i.Endpoints[0].Metadata["subject"] != distributed.Subject(c.prefix, "default", "people") {
		t.Fatalf("info: %s (%v)", info.Data, err)
	}
	insts, err := c.ingress.Instances(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(insts) != 1 || insts[0].Service != "people" || insts[0].Node != "w1" || insts[0].Replicas != 1 ||
		insts[0].Capacity != 3 || insts[0].Subscriptions != 1 || insts[0].BaseRoute != "/people" {
		t.Fatalf("instances: %+v", insts)
	}
}

// The subject is built from the flow and the service's stable name.
func TestSubject(t *testing.T) {
	if got := distributed.Subject("rf", "shop", "billing.v2"); got != "rf.shop.billing.v2" {
		t.Errorf("Subject = %q", got)
	}
	if _, err := distributed.NewIngress(&nats.Conn{}, distributed.IngressOptions{Flow: "a.b"}); err == nil {
		t.Error("a flow name with a dot must be refused")
	}
}

type recorder struct {
	code int
	h    http.Header
	body strings.Builder
}

func newRecorder() *recorder                    { return &recorder{h: http.Header{}} }
func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) WriteHeader(c int)           { r.code = c }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }

var _ http.ResponseWriter = (*recorder)(nil)
