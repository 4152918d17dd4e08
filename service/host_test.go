package service

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
)

// TestHostDraining checks the signal a WebSocket endpoint waits on: the
// channel of a call's replica closes when the service stops, and another
// context has none.
func TestHostDraining(t *testing.T) {
	svc := attached(t)
	ready(t, svc)
	h := (*host)(svc)
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest("GET", "/", nil)
	ctx, err := h.Enter(c)
	if err != nil {
		t.Fatal(err)
	}
	drain := h.Draining(ctx)
	if drain == nil || h.Draining(context.Background()) != nil {
		t.Fatal("a call has no drain signal, or another context has one")
	}
	select {
	case <-drain:
		t.Fatal("draining while the service runs")
	default:
	}
	stopped := make(chan error, 1)
	go func() { stopped <- svc.Stop(context.Background()) }()
	<-drain // closed when the replica leaves routing, before the call ends
	h.Leave(ctx)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}
