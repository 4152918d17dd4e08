package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/replicaflow/replicaflow/flow"
)

// client follows no redirect, so that the URLs the example shows are checked
// to answer as they are.
var client = &http.Client{
	Transport:     &http.Transport{DisableKeepAlives: true},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func start(t *testing.T) (app *flow.Flow, base string) {
	t.Helper()
	app = NewApp(flow.Address("127.0.0.1:0"), flow.Logger(slog.New(slog.DiscardHandler)))
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return app, app.Addr().String()
}

func join(t *testing.T, base, name string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+base+"/chat/ws?name="+name, &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		t.Fatalf("%s joins: %v", name, err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// next reads messages until one satisfies ok.
func next(t *testing.T, c *websocket.Conn, ok func(Message) bool) Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, p, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		var m Message
		if err := json.Unmarshal(p, &m); err != nil {
			t.Fatal(err)
		}
		if ok(m) {
			return m
		}
	}
}

func say(t *testing.T, c *websocket.Conn, s string) {
	t.Helper()
	if err := c.Write(context.Background(), websocket.MessageText, []byte(s)); err != nil {
		t.Fatal(err)
	}
}

func TestChat(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	app, base := start(t)
	shut := false
	t.Cleanup(func() {
		if !shut {
			app.Shutdown(context.Background())
		}
	})

	res, err := client.Get("http://" + base + "/chat")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("page: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}

	ada := join(t, base, "ada")
	next(t, ada, func(m Message) bool { return m.Text == "ada joined" })
	bob := join(t, base, "bob")
	next(t, ada, func(m Message) bool { return m.Text == "bob joined" })

	say(t, ada, `{"text":"hello"}`)
	for _, c := range []*websocket.Conn{ada, bob} {
		if m := next(t, c, func(m Message) bool { return m.From == "ada" }); m.Text != "hello" {
			t.Errorf("got %+v", m)
		}
	}
	say(t, bob, `{"text":""}`)
	if m := next(t, bob, func(m Message) bool { return m.Error != "" }); !strings.Contains(m.Error, "text") {
		t.Errorf("empty message: %+v", m)
	}

	// A bad name is refused before the upgrade.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, res, err := websocket.Dial(ctx, "ws://"+base+"/chat/ws?name=no%20spaces", &websocket.DialOptions{HTTPClient: client}); err == nil || res.StatusCode != 422 {
		t.Fatalf("bad name: %v %v", res, err)
	}

	// Shutdown tells everyone to reconnect and closes with going away.
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- app.Shutdown(ctx)
	}()
	shut = true
	for _, c := range []*websocket.Conn{ada, bob} {
		next(t, c, func(m Message) bool { return strings.Contains(m.Text, "reconnect") })
		_, _, err := c.Read(ctx)
		if code := websocket.CloseStatus(err); code != websocket.StatusGoingAway {
			t.Errorf("close %v, want going away", err)
		}
	}
	if err := <-done; err != nil {
		t.Errorf("shutdown: %v", err)
	}
}
