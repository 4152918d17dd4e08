// Chat is a small broadcast chat over WebSocket: every message a client
// sends reaches every connected client, whichever replica serves it (the hub
// is a GlobalScope dependency). GET /chat serves the page.
//
//	go run ./examples/chat
//	open http://localhost:8000/chat
package main

import (
	"context"
	"errors"
	"log"
	"sync"

	"github.com/coder/websocket"

	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/requests"
	"github.com/replicaflow/replicaflow/responses"
	"github.com/replicaflow/replicaflow/service"
)

// Join is what the upgrade request carries: the user's name, as a query
// parameter.
type Join struct {
	Name string `query:"name" binding:"required,alphanum,max=32"`
}

// Say is a message a client sends.
type Say struct {
	Text string `json:"text" binding:"required,min=1,max=500"`
}

// Message is what every client receives.
type Message struct {
	From  string `json:"from"`
	Text  string `json:"text"`
	Error string `json:"error,omitempty"`
}

// Hub passes every message to every member. A member that falls too far
// behind is dropped rather than slowing everyone down.
type Hub struct {
	mu      sync.Mutex
	members map[*member]struct{}
}

type member struct {
	ch       chan Message
	slowOnce sync.Once
	slow     chan struct{} // closed when the member fell behind
}

// memberBuffer is how many messages a member may fall behind.
const memberBuffer = 32

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{members: map[*member]struct{}{}} }

// Join adds a member; call leave when it goes.
func (h *Hub) Join() (m *member, leave func()) {
	m = &member{ch: make(chan Message, memberBuffer), slow: make(chan struct{})}
	h.mu.Lock()
	h.members[m] = struct{}{}
	h.mu.Unlock()
	return m, func() {
		h.mu.Lock()
		delete(h.members, m)
		h.mu.Unlock()
	}
}

// Broadcast sends msg to every member without blocking.
func (h *Hub) Broadcast(msg Message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for m := range h.members {
		select {
		case m.ch <- msg:
		default:
			m.slowOnce.Do(func() { close(m.slow) })
		}
	}
}

// Size returns the number of members.
func (h *Hub) Size() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.members)
}

// NewApp builds the chat flow.
func NewApp(opts ...flow.Option) *flow.Flow {
	app := flow.New(opts...)
	svc := app.Service(
		service.BaseRoute("/chat"),
		service.Replicas(1, 4),
		// A connection holds a replica slot for its whole life: size the
		// slots for connections, not for quick requests.
		service.MaxConcurrentQueries(1000),
		service.TargetOngoingRequests(500),
	)
	hub := service.NewDependency(svc, service.GlobalScope, func(context.Context) (*Hub, error) {
		return NewHub(), nil
	}, nil)

	flow.Endpoint(svc, "GET", "/", func(ctx context.Context, _ struct{}) (responses.HTML, error) {
		return responses.HTML{Body: page}, nil
	})

	flow.WebSocket(svc, "/ws", func(ctx context.Context, in Join, conn *requests.WebSocket) error {
		h, err := hub.Get(ctx)
		if err != nil {
			return err
		}
		me, leave := h.Join()
		defer func() {
			leave()
			h.Broadcast(Message{From: "chat", Text: in.Name + " left"})
		}()
		h.Broadcast(Message{From: "chat", Text: in.Name + " joined"})

		// One goroutine reads; this one writes. The reader ends when the
		// connection closes, which the endpoint does once we return.
		readErr := make(chan error, 1)
		go func() {
			for {
				say, err := requests.ReadJSON[Say](ctx, conn)
				var bad *requests.Error
				if errors.As(err, &bad) {
					if err := conn.WriteJSON(ctx, Message{From: "chat", Error: bad.Error()}); err != nil {
						readErr <- err
						return
					}
					continue
				}
				if err != nil {
					readErr <- err
					return
				}
				h.Broadcast(Message{From: in.Name, Text: say.Text})
			}
		}()
		for {
			select {
			case msg := <-me.ch:
				if err := conn.WriteJSON(ctx, msg); err != nil {
					return err
				}
			case err := <-readErr:
				return err
			case <-me.slow:
				return websocket.CloseError{Code: websocket.StatusPolicyViolation, Reason: "too slow"}
			case <-conn.GoingAway():
				return conn.WriteJSON(ctx, Message{From: "chat", Text: "the server is restarting; reconnect"})
			}
		}
	})
	return app
}

func main() {
	if err := flow.Run(NewApp()); err != nil {
		log.Fatal(err)
	}
}

const page = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>replicaflow chat</title>
<style>
body { font: 16px system-ui, sans-serif; max-width: 40em; margin: 2em auto; }
#log { border: 1px solid #ccc; height: 20em; overflow-y: auto; padding: .5em; }
#log .sys { color: #777; }
form { display: flex; gap: .5em; margin-top: .5em; }
#text { flex: 1; }
</style>
<h1>Chat</h1>
<div id="log"></div>
<form id="form"><input id="text" autocomplete="off" placeholder="Say something" disabled><button disabled>Send</button></form>
<script>
const log = document.getElementById("log");
const form = document.getElementById("form");
const text = document.getElementById("text");
function show(cls, s) {
  const p = document.createElement("div");
  p.className = cls;
  p.textContent = s;
  log.appendChild(p);
  log.scrollTop = log.scrollHeight;
}
const name = (prompt("Your name (letters and digits)") || "guest").replace(/[^A-Za-z0-9]/g, "") || "guest";
const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host +
  "/chat/ws?name=" + encodeURIComponent(name));
ws.onopen = () => { text.disabled = false; form.querySelector("button").disabled = false; text.focus(); };
ws.onmessage = (e) => {
  const m = JSON.parse(e.data);
  if (m.error) show("sys", "error: " + m.error);
  else show(m.from === "chat" ? "sys" : "", m.from === "chat" ? m.text : m.from + ": " + m.text);
};
ws.onclose = (e) => show("sys", "disconnected (" + e.code + (e.reason ? " " + e.reason : "") + ")");
form.onsubmit = (e) => {
  e.preventDefault();
  if (text.value) ws.send(JSON.stringify({text: text.value}));
  text.value = "";
};
</script>
</html>
`
