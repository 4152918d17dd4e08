package service

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/replicaflow/replicaflow/internal/testutil"
	"github.com/replicaflow/replicaflow/responses"
)

// heldBody is a request body that sends all but its last bytes and then
// holds, as the red team's clients did, until finish is called.
type heldBody struct {
	pw   *io.PipeWriter
	rest []byte
}

func holdBody(t *testing.T, url string, size int, chunked bool) (*heldBody, <-chan *http.Response) {
	t.Helper()
	body := []byte(`{"p":"` + strings.Repeat("A", size-8) + `"}`)
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", url, pr)
	req.Header.Set("Content-Type", "application/json")
	if !chunked {
		req.ContentLength = int64(len(body))
	}
	done := make(chan *http.Response, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- nil
			return
		}
		done <- res
	}()
	go pw.Write(body[:len(body)-5])
	return &heldBody{pw, body[len(body)-5:]}, done
}

func (b *heldBody) finish() {
	b.pw.Write(b.rest)
	b.pw.Close()
}

// TestBodyBudget: clients that hold nearly complete large bodies take the
// service's body budget and no more; past it a request is answered 503 with
// a Retry-After before its body is read, whatever its framing, while
// requests without a body still run; and the budget comes back when the
// calls end.
func TestBodyBudget(t *testing.T) {
	const size = 1 << 20
	svc := attached(t, BodyBudget(4*size))
	Handle(svc, "POST", "/up", func(ctx context.Context, in struct {
		P string `json:"p"`
	}) (int, error) {
		return len(in.P), nil
	})
	Handle(svc, "GET", "/ping", func(ctx context.Context, _ struct{}) (string, error) { return "pong", nil })
	ready(t, svc)
	srv := httptest.NewServer(svc)
	defer srv.Close()

	var held []*heldBody
	var answers []<-chan *http.Response
	for range 4 {
		b, res := holdBody(t, srv.URL+"/up", size, false)
		held = append(held, b)
		answers = append(answers, res)
	}
	testutil.WaitFor(t, "the held bodies to take the budget", 10*time.Second, func() bool {
		return svc.budget.InUse() == 4*size
	})

	refused := []struct {
		name    string
		chunked bool
	}{
		{"with a Content-Length", false},
		{"chunked", true},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			b, done := holdBody(t, srv.URL+"/up", size, tt.chunked)
			defer b.pw.CloseWithError(io.ErrClosedPipe)
			res := <-done
			if res == nil {
				t.Fatal("no answer")
			}
			defer res.Body.Close()
			var p responses.Problem
			json.NewDecoder(res.Body).Decode(&p)
			if res.StatusCode != 503 || res.Header.Get("Retry-After") == "" || p.Status != 503 {
				t.Fatalf("%d Retry-After %q: %+v", res.StatusCode, res.Header.Get("Retry-After"), p)
			}
			if got := svc.budget.InUse(); got != 4*size {
				t.Fatalf("budget in use %d, want %d", got, 4*size)
			}
		})
	}

	res, err := http.Get(srv.URL + "/ping")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("a request without a body got %d while bodies held the budget", res.StatusCode)
	}

	for i, b := range held {
		b.finish()
		res := <-answers[i]
		if res == nil {
			t.Fatal("no answer")
		}
		out, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !bytes.Equal(out, []byte(fmt.Sprint(size-8))) {
			t.Fatalf("held body %d: %d %s", i, res.StatusCode, out)
		}
	}
	if got := svc.budget.InUse(); got != 0 {
		t.Fatalf("budget in use %d after the calls ended", got)
	}
}

// TestBodyBudgetDefault: the default budget grows with what the service can
// run at once, from a floor; a negative one turns it off.
func TestBodyBudgetDefault(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		want int64
	}{
		{"the floor", nil, minBodyBudget},
		{"per query", []Option{Replicas(1, 10), MaxConcurrentQueries(100)}, 10 * 100 * bodyBudgetPerQuery},
		{"set", []Option{BodyBudget(1 << 20)}, 1 << 20},
		{"off", []Option{BodyBudget(-1)}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := New(tt.opts...)
			if got := svc.Options().BodyBudget; got != tt.want {
				t.Fatalf("budget %d, want %d", got, tt.want)
			}
			if (svc.budget == nil) != (tt.want < 0) {
				t.Fatalf("budget %v for option %d", svc.budget, tt.want)
			}
		})
	}
}
