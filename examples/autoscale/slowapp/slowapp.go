// Package slowapp is the app of the autoscale example: a slow endpoint on a
// replica pool that grows and shrinks with the load, and a closed-loop load
// generator to drive it. The example's command and the step-load benchmark
// both use it.
package slowapp

import (
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/service"
)

// Work is what one request costs the replica that runs it: 10 ms of waiting,
// as a call to a database or another service would take.
const Work = 10 * time.Millisecond

// Reply says which replica served a request.
type Reply struct {
	Replica int64 `json:"replica"`
}

// worker is a replica's own resource (a connection, a model, a cache): built
// when the replica starts, closed when it stops.
type worker struct{ id int64 }

// NewApp returns the example's flow and its service "slow" at /slow: one
// replica at rest, up to eight under load, each running one request at a
// time. opts are applied after the example's own options, to change them.
func NewApp(flowOpts []flow.Option, opts ...service.Option) (*flow.Flow, *service.Service) {
	app := flow.New(flowOpts...)
	svc := app.Service(append([]service.Option{
		service.Name("slow"),
		service.BaseRoute("/slow"),
		service.Replicas(1, 8),
		service.MaxConcurrentQueries(1),
		service.TargetOngoingRequests(1),
		// The work waits rather than computes: a replica reserves a tenth of
		// a CPU, so eight fit on a small machine (the default, one CPU per
		// replica, would leave the replicas past the core count pending).
		service.NumCPUs(0.1),
	}, opts...)...)

	var ids atomic.Int64
	workers := service.NewDependency(svc, service.ReplicaScope,
		func(ctx context.Context) (*worker, error) { return &worker{id: ids.Add(1)}, nil },
		func(*worker) error { return nil })

	flow.Endpoint(svc, "GET", "/", func(ctx context.Context, _ struct{}) (Reply, error) {
		w, err := workers.Get(ctx)
		if err != nil {
			return Reply{}, err
		}
		t := time.NewTimer(Work)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return Reply{}, ctx.Err()
		}
		return Reply{Replica: w.id}, nil
	})
	return app, svc
}

// Load is a closed-loop load generator: each client sends a request, waits
// for the answer, and sends the next. Change the number of clients with Set.
type Load struct {
	url    string
	client *http.Client

	mu    sync.Mutex
	stops []chan struct{}
	wg    sync.WaitGroup

	ok, failed atomic.Int64
}

// NewLoad returns a load generator for url, with no client yet. It follows
// no redirect: a URL answered 3xx counts every request as failed rather than
// paying a second request each time.
func NewLoad(url string) *Load {
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute}
	return &Load{url: url, client: &http.Client{
		Transport:     tr,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Set changes the number of clients to n, starting or stopping clients.
// A stopped client finishes the request it has sent.
func (l *Load) Set(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.stops) < n {
		stop := make(chan struct{})
		l.stops = append(l.stops, stop)
		l.wg.Add(1)
		go l.run(stop)
	}
	for len(l.stops) > n {
		last := len(l.stops) - 1
		close(l.stops[last])
		l.stops = l.stops[:last]
	}
}

// Clients returns the number of clients.
func (l *Load) Clients() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.stops)
}

// Stop stops every client and waits for their last answers.
func (l *Load) Stop() {
	l.Set(0)
	l.wg.Wait()
	l.client.CloseIdleConnections()
}

// Counts returns the requests answered 200 and those that failed (another
// status or no answer) so far.
func (l *Load) Counts() (ok, failed int64) { return l.ok.Load(), l.failed.Load() }

func (l *Load) run(stop <-chan struct{}) {
	defer l.wg.Done()
	for {
		select {
		case <-stop:
			return
		default:
		}
		res, err := l.client.Get(l.url)
		if err != nil {
			l.failed.Add(1)
			continue
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			l.ok.Add(1)
		} else {
			l.failed.Add(1)
		}
	}
}
