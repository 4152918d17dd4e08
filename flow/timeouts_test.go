package flow_test

import (
	"bufio"
	"context"
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
