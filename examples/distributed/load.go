package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Result is what a load run saw.
type Result struct {
	Duration time.Duration
	Statuses map[int]int // by HTTP status; 0 = transport error
	NoRetry  int         // 503s without Retry-After
	Latency  []time.Duration
}

// OK is the number of 200 answers.
func (r Result) OK() int { return r.Statuses[200] }

// Rate is 200 answers per second.
func (r Result) Rate() float64 { return float64(r.OK()) / r.Duration.Seconds() }

// Failed is the number of answers that are neither 200 nor 503.
func (r Result) Failed() int {
	n := 0
	for s, c := range r.Statuses {
		if s != 200 && s != 503 {
			n += c
		}
	}
	return n
}

func (r Result) quantile(q float64) time.Duration {
	if len(r.Latency) == 0 {
		return 0
	}
	return r.Latency[int(q*float64(len(r.Latency)-1))]
}

func (r Result) String() string {
	var codes []string
	keys := make([]int, 0, len(r.Statuses))
	for k := range r.Statuses {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	for _, k := range keys {
		codes = append(codes, fmt.Sprintf("%d×%d", k, r.Statuses[k]))
	}
	return fmt.Sprintf("%.0f req/s (200s) over %v; statuses %s; p50 %v p99 %v",
		r.Rate(), r.Duration.Round(time.Millisecond), strings.Join(codes, " "),
		r.quantile(0.5).Round(100*time.Microsecond), r.quantile(0.99).Round(100*time.Microsecond))
}

// Load calls url with c closed-loop clients for d.
func Load(ctx context.Context, method, url string, c int, d time.Duration) Result {
	return LoadFunc(ctx, c, d, func(int) (string, string) { return method, url }, nil)
}

// LoadFunc runs c closed-loop clients for d; pick chooses each request's
// method and URL (n counts requests), and seen, when set, gets every answer.
func LoadFunc(ctx context.Context, c int, d time.Duration, pick func(n int) (string, string),
	seen func(method string, status int, at time.Time)) Result {
	tr := &http.Transport{MaxIdleConnsPerHost: c, MaxConnsPerHost: c}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var mu sync.Mutex
	res := Result{Statuses: map[int]int{}}
	var wg sync.WaitGroup
	start := time.Now()
	var n int
	for range c {
		wg.Go(func() {
			for ctx.Err() == nil {
				mu.Lock()
				n++
				i := n
				mu.Unlock()
				method, url := pick(i)
				req, _ := http.NewRequest(method, url, nil)
				t0 := time.Now()
				status, retry := 0, true
				if resp, err := client.Do(req); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					status, retry = resp.StatusCode, resp.Header.Get("Retry-After") != ""
				}
				lat := time.Since(t0)
				if seen != nil {
					seen(method, status, time.Now())
				}
				mu.Lock()
				res.Statuses[status]++
				if status == 503 && !retry {
					res.NoRetry++
				}
				res.Latency = append(res.Latency, lat)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	res.Duration = time.Since(start)
	slices.Sort(res.Latency)
	return res
}
