package responses

import (
	"iter"
	"net/http"

	"github.com/gin-contrib/sse"
	"github.com/gin-gonic/gin"
)

// Event is one server-sent event.
type Event struct {
	// Event is the event's type; empty means "message".
	Event string
	// ID sets the client's last event ID.
	ID string
	// Retry asks the client to wait this many milliseconds before it
	// reconnects; 0 leaves it unset.
	Retry uint
	// Data is the payload: a string or []byte as is, anything else as JSON.
	Data any
}

// EventStream sends Events as server-sent events (text/event-stream),
// flushing each one, and stops as soon as the client goes away.
type EventStream struct {
	Header http.Header
	Events iter.Seq[Event]
}

// Render implements Response.
func (r EventStream) Render(c *gin.Context, status int) {
	setHeader(c, r.Header)
	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	c.Status(status)
	c.Writer.WriteHeaderNow()
	c.Writer.Flush()
	done := c.Request.Context().Done()
	for ev := range r.Events {
		err := sse.Encode(c.Writer, sse.Event{Event: ev.Event, Id: ev.ID, Retry: ev.Retry, Data: ev.Data})
		if err != nil {
			return
		}
		c.Writer.Flush()
		select {
		case <-done:
			return
		default:
		}
	}
}
