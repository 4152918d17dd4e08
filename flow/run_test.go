package flow_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/internal/testutil"
)

func TestStartShutdownDrainsInFlight(t *testing.T) {
	entered := make(chan struct{}, 8)
	release := make(chan struct{})
	app := flow.New(flow.Address("127.0.0.1:0"), flow.Logger(slogTo(nil)))
	flow.Endpoint(app.Service(), "GET", "/slow", func(ctx context.Context, _ none) (string, error) {
		entered <- struct{}{}
		<-release
		return "done", nil
	})
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	url := "http://" + app.Addr().String()
	if res, err := http.Get(url + "/readyz"); err != nil || res.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", res, err)
	}
	const n = 4
	var wg sync.WaitGroup
	results := make(chan string, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := http.Get(url + "/slow")
			if err != nil {
				results <- err.Error()
				return
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			results <- res.Status + " " + string(b)
		}()
	}
	for range n {
		<-entered
	}
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		shut <- app.Shutdown(ctx)
	}()
	// The requests are held: the listener must close while they run.
	testutil.WaitFor(t, "the listener to refuse new connections during shutdown", 10*time.Second, func() bool {
		c, err := net.Dial("tcp", app.Addr().String())
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	close(release)
	if err := <-shut; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	wg.Wait()
	close(results)
	for r := range results {
		if r != `200 OK "done"` {
			t.Errorf("an accepted request was lost: %s", r)
		}
	}
}

func TestAddressFromEnvironment(t *testing.T) {
	t.Setenv("API_PORT", "not-a-port")
	if err := flow.New().Start(context.Background()); err == nil {
		t.Fatal("a bad API_PORT must be an error")
	}
	t.Setenv("API_PORT", "0")
	app := flow.New()
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer app.Shutdown(context.Background())
	if app.Addr() == nil {
		t.Fatal("no address")
	}
}

func TestHooks(t *testing.T) {
	var events []string
	app := flow.New(flow.Address("127.0.0.1:0"), flow.Logger(slogTo(nil)),
		flow.OnStart(func(ctx context.Context, app *flow.Flow) error {
			events = append(events, "start "+app.Addr().Network())
			return nil
		}),
		flow.OnShutdown(func(ctx context.Context, app *flow.Flow) error {
			res, err := http.Get("http://" + app.Addr().String() + "/healthz")
			if err != nil {
				return err
			}
			res.Body.Close()
			events = append(events, "shutdown while serving")
			return nil
		}))
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := app.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 || events[0] != "start tcp" || events[1] != "shutdown while serving" {
		t.Fatalf("events %q", events)
	}
}

// A goroutine that keeps the handler's ctx sees it done once the request
// ends, never another request's context.
func TestHandlerContextOutlivesRequest(t *testing.T) {
	kept := make(chan context.Context, 1)
	app := flow.New(flow.Logger(slogTo(nil)))
	flow.Endpoint(app.Service(), "GET", "/", func(ctx context.Context, _ none) (string, error) {
		kept <- ctx
		return "ok", nil
	})
	srv := httptest.NewServer(app.Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	ctx := <-kept
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the handler's ctx was not done after the request ended")
	}
	// Later requests must not revive it.
	for range 5 {
		if res, err := http.Get(srv.URL); err == nil {
			res.Body.Close()
		}
		<-kept
		if ctx.Err() == nil {
			t.Fatal("a finished request's ctx came back to life")
		}
	}
}
