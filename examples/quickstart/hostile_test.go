package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/replicaflow/replicaflow/responses"
)

// served starts the quickstart on a loopback port, as flow.Run serves it.
func served(t *testing.T) string {
	t.Helper()
	app := NewApp()
	if err := app.StartServices(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		app.Shutdown(ctx)
	})
	srv := httptest.NewServer(app)
	t.Cleanup(srv.Close)
	return srv.URL
}

// chunked hides a body's length, so that it is sent chunked.
func chunked(b []byte) io.Reader { return io.MultiReader(bytes.NewReader(b)) }

func manyParts(n int) (string, []byte) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for i := range n {
		fw, _ := w.CreateFormFile(fmt.Sprint("f", i), "../../etc/passwd")
		fw.Write([]byte("x"))
	}
	w.Close()
	return w.FormDataContentType(), b.Bytes()
}

// TestHostileInput re-runs the red team's bad-input table against the
// quickstart: every hostile request gets the documented 4xx problem details,
// never a 500, a panic or an answer that echoes the whole input.
func TestHostileInput(t *testing.T) {
	base := served(t)
	big := []byte(`{"val":1,"p":"` + strings.Repeat("A", 9<<20) + `"}`)
	formType, form := manyParts(5000)
	tests := []struct {
		name   string
		method string
		path   string
		ctype  string
		body   func() io.Reader
		status int
	}{
		{"100k nested arrays", "POST", "/", "application/json", func() io.Reader {
			return strings.NewReader(strings.Repeat("[", 100000) + strings.Repeat("]", 100000))
		}, 400},
		{"100k nested objects", "POST", "/", "application/json", func() io.Reader {
			return strings.NewReader(`{"val":1,"x":` + strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000) + "}")
		}, 400},
		{"1M unterminated arrays", "POST", "/", "application/json", func() io.Reader {
			return strings.NewReader(strings.Repeat("[", 1000000))
		}, 400},
		{"1e400", "POST", "/", "application/json", func() io.Reader { return strings.NewReader(`{"val":1e400}`) }, 422},
		{"20 digits", "POST", "/", "application/json", func() io.Reader { return strings.NewReader(`{"val":99999999999999999999}`) }, 422},
		{"a fraction for an int", "POST", "/", "application/json", func() io.Reader { return strings.NewReader(`{"val":1.5}`) }, 422},
		{"a string for an int", "POST", "/", "application/json", func() io.Reader { return strings.NewReader(`{"val":"1"}`) }, 422},
		{"1M digits", "POST", "/", "application/json", func() io.Reader {
			return strings.NewReader(`{"val":` + strings.Repeat("9", 1000000) + `}`)
		}, 422},
		{"invalid UTF-8 outside a string", "POST", "/", "application/json", func() io.Reader { return strings.NewReader("{\xff\"val\":1}") }, 400},
		{"a BOM", "POST", "/", "application/json", func() io.Reader { return strings.NewReader("\ufeff{\"val\":1}") }, 400},
		{"a trailing NUL", "POST", "/", "application/json", func() io.Reader { return strings.NewReader("{\"val\":1}\x00") }, 400},
		{"a second value", "POST", "/", "application/json", func() io.Reader { return strings.NewReader(`{"val":1}{"val":2}`) }, 400},
		{"an empty body", "POST", "/", "application/json", func() io.Reader { return nil }, 422},
		{"null", "POST", "/", "application/json", func() io.Reader { return strings.NewReader("null") }, 422},
		{"an array for an object", "POST", "/", "application/json", func() io.Reader { return strings.NewReader("[1]") }, 422},
		{"text/plain", "POST", "/", "text/plain", func() io.Reader { return strings.NewReader(`{"val":1}`) }, 415},
		{"urlencoded", "POST", "/", "application/x-www-form-urlencoded", func() io.Reader { return strings.NewReader("val=1") }, 415},
		{"9 MiB with a length", "POST", "/", "application/json", func() io.Reader { return bytes.NewReader(big) }, 413},
		{"9 MiB chunked", "POST", "/", "application/json", func() io.Reader { return chunked(big) }, 413},
		{"valid JSON then 9 MiB of spaces, chunked", "POST", "/", "application/json", func() io.Reader {
			return io.MultiReader(strings.NewReader(`{"val":1}`), bytes.NewReader(bytes.Repeat([]byte(" "), 9<<20)))
		}, 413},
		{"9 MiB to the raw endpoint", "POST", "/raw", "text/csv", func() io.Reader { return bytes.NewReader(big) }, 413},
		{"5,000 file parts to the JSON endpoint", "POST", "/", formType, func() io.Reader { return bytes.NewReader(form) }, 415},
		{"a query int overflow", "GET", "/my_endpoint?my_int=99999999999999999999999", "", nil, 422},
		{"a malformed query escape", "GET", "/my_endpoint?my_int=%ZZ", "", nil, 422},
		{"a missing query parameter", "GET", "/my_endpoint", "", nil, 422},
		{"an unknown method", "DELETE", "/", "", nil, 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != nil {
				body = tt.body()
			}
			req, err := http.NewRequest(tt.method, base+tt.path, body)
			if err != nil {
				t.Fatal(err)
			}
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			out, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
			var p responses.Problem
			if res.StatusCode != tt.status || res.Header.Get("Content-Type") != "application/problem+json" ||
				json.Unmarshal(out, &p) != nil || p.Status != tt.status {
				t.Fatalf("%d %s, want a %d problem: %.300s", res.StatusCode, res.Header.Get("Content-Type"), tt.status, out)
			}
			if len(out) > 4<<10 {
				t.Fatalf("a %d-byte answer echoes the input", len(out))
			}
		})
	}
}

// TestOverload puts ten times what the echo service runs and queues at once
// on it: every answer is a success or a 503 problem with a Retry-After.
func TestOverload(t *testing.T) {
	if testing.Short() {
		t.Skip("overload test skipped in -short mode")
	}
	app := NewApp()
	o := app.Lookup("root").Options()
	if err := app.StartServices(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer app.Shutdown(context.Background())
	srv := httptest.NewServer(app)
	defer srv.Close()
	n := 10 * (o.MaxReplicas*o.MaxConcurrentQueries + o.MaxQueuedRequests)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		counts = map[string]int{}
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			verdict := "ok"
			res, err := client.Post(srv.URL+"/", "application/json", strings.NewReader(`{"val":1}`))
			switch {
			case err != nil:
				verdict = "transport error: " + err.Error()
			case res.StatusCode == 200:
			case res.StatusCode == 503 && res.Header.Get("Retry-After") != "" &&
				res.Header.Get("Content-Type") == "application/problem+json":
				verdict = "503"
			default:
				verdict = fmt.Sprintf("%d %s", res.StatusCode, res.Header.Get("Content-Type"))
			}
			if res != nil {
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
			mu.Lock()
			counts[verdict]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if counts["ok"]+counts["503"] != n {
		t.Fatalf("%d requests: %v", n, counts)
	}
	t.Logf("%d requests: %v", n, counts)
}
