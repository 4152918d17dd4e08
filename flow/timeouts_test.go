package flow_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/service"
)

type echoIn struct {
	Val int `json:"val"`
}

// stall opens a connection to addr, sends the headers of a body request and
// part of its body, then sends nothing more.
func stall(t *testing.T, addr string) *bufio.Reader {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.Write([]byte("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"val\""))
	return bufio.NewReader(c)
}

func stalledApp(t *testing.T, timeouts flow.Timeouts) (*flow.Flow, chan struct{}) {
	t.Helper()
	reading := make(chan struct{}, 1)
	app := flow.New(flow.Address("127.0.0.1:0"), flow.Logger(slogTo(nil)), flow.ServerTimeouts(timeouts),
		flow.ShutdownTimeout(time.Minute))
	svc := app.Service(service.BaseRoute("/echo"))
	svc.Use(func(c *gin.Context) { reading <- struct{}{}; c.Next() })
	flow.Endpoint(svc, "POST", "/", func(ctx context.Context, in echoIn) (echoIn, error) { return in, nil })
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return app, reading
}

// A client that sends headers and part of a body, then stalls, is answered
// and dropped once the body timeout passes; it does not hold the connection.
func TestStalledBodyIsCut(t *testing.T) {
	app, reading := stalledApp(t, flow.Timeouts{BodyRead: 200 * time.Millisecond})
	defer app.Shutdown(context.Background())
	rd := stall(t, app.Addr().String())
	<-reading
	res, err := http.ReadResponse(rd, nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	res.Body.Close()
	if res.StatusCode < 400 || res.StatusCode >= 500 {
		t.Fatalf("a stalled body got %d, want a 4xx", res.StatusCode)
	}
}

// Shutdown does not wait for a client stalled in the middle of its body.
func TestShutdownCutsStalledBody(t *testing.T) {
	app, reading := stalledApp(t, flow.Timeouts{})
	stall(t, app.Addr().String())
	<-reading
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	if err := app.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with a stalled client: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("shutdown waited %v, its whole budget, for a stalled client", time.Since(start))
	}
}

// An upload slower than the body timeout as a whole, but whose every read
// gets data within it, is not cut; neither is a handler that runs longer
// than the body timeout after reading its body.
func TestMovingBodyAndSlowHandlerAreNotCut(t *testing.T) {
	const wait = 600 * time.Millisecond
	app := flow.New(flow.Address("127.0.0.1:0"), flow.Logger(slogTo(nil)),
		flow.ServerTimeouts(flow.Timeouts{BodyRead: wait}))
	svc := app.Service(service.BaseRoute("/echo"))
	flow.Endpoint(svc, "POST", "/", func(ctx context.Context, in echoIn) (echoIn, error) {
		// Longer than the body timeout, after the body was read: what is
		// bounded is the client's sending, not the handler.
		select {
		case <-time.After(2 * wait):
		case <-ctx.Done():
			return in, ctx.Err()
		}
		return in, nil
	})
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer app.Shutdown(context.Background())
	c, err := net.Dial("tcp", app.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	body := `{"val": 7}  `
	fmt.Fprintf(c, "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
	// One byte every wait/6: the body takes twice the timeout.
	tick := time.NewTicker(wait / 6)
	defer tick.Stop()
	for i := range len(body) {
		<-tick.C
		if _, err := c.Write([]byte{body[i]}); err != nil {
			t.Fatalf("the server stopped reading a moving body after %d bytes: %v", i, err)
		}
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("a moving body with a slow handler got %d, want 200", res.StatusCode)
	}
}

// A handler that leaves its body unread while the client stalls does not
// leave net/http draining that body forever: the connection is given up
// within the body timeout.
func TestUnreadStalledBodyIsDropped(t *testing.T) {
	app := flow.New(flow.Address("127.0.0.1:0"), flow.Logger(slogTo(nil)),
		flow.ServerTimeouts(flow.Timeouts{BodyRead: 200 * time.Millisecond}))
	app.Mount("/ignore", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	}))
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer app.Shutdown(context.Background())
	c, err := net.Dial("tcp", app.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("POST /ignore HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\npartial"))
	rd := bufio.NewReader(c)
	res, err := http.ReadResponse(rd, nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	// The server closes the connection once the drain times out; a read
	// then ends (EOF or reset) instead of waiting for the test's deadline.
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := rd.ReadByte(); err == nil {
		t.Fatal("the server sent more on a connection whose body it could not drain")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the server still holds the connection of a stalled, unread body")
	}
}
