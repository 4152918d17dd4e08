package endpoint_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/replicaflow/replicaflow/endpoint"
	"github.com/replicaflow/replicaflow/internal/testutil"
	"github.com/replicaflow/replicaflow/requests"
)

// rawUpgrade opens a WebSocket on url (ws://host/path) by hand, so that the
// test can send frames no client library would.
func rawUpgrade(t *testing.T, url string) (net.Conn, *bufio.Reader) {
	t.Helper()
	addr, path, _ := strings.Cut(strings.TrimPrefix(url, "ws://"), "/")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /"+path+" HTTP/1.1\r\nHost: "+addr+"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", res, err)
	}
	return c, br
}

// readClose reads frames until the server's close frame and returns its code.
func readClose(t *testing.T, br *bufio.Reader) websocket.StatusCode {
	t.Helper()
	for {
		var h [2]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			t.Fatalf("no close frame: %v", err)
		}
		n := int(h[1] & 0x7f)
		if n == 126 || n == 127 {
			t.Fatalf("unexpected long frame from the server")
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(br, p); err != nil {
			t.Fatal(err)
		}
		if h[0]&0x0f == 0x8 {
			if n < 2 {
				return websocket.StatusNoStatusRcvd
			}
			return websocket.StatusCode(binary.BigEndian.Uint16(p))
		}
	}
}

// TestWebSocketClientMisbehaves: a client that breaks the protocol gets a
// 1002 close, and neither it nor a client that leaves without a close frame
// is logged as a server error.
func TestWebSocketClientMisbehaves(t *testing.T) {
	noLeaks(t)
	tests := []struct {
		name  string
		frame []byte // nil: the client just goes away
		code  websocket.StatusCode
	}{
		{"unmasked frame", []byte{0x81, 0x02, 'h', 'i'}, websocket.StatusProtocolError},
		{"negative 64-bit length", []byte{0x81, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}, websocket.StatusProtocolError},
		{"reserved opcode", []byte{0x83, 0x80, 1, 2, 3, 4}, websocket.StatusProtocolError},
		{"reserved bit", []byte{0x81 | 0x20, 0x80, 1, 2, 3, 4}, websocket.StatusProtocolError},
		{"leaves without a close frame", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &testutil.Buffer{}
			host := newTestHost(1, logs)
			ep := endpoint.NewWebSocket("/ws", func(ctx context.Context, _ struct{}, ws *requests.WebSocket) error {
				for {
					if _, _, err := ws.Read(ctx); err != nil {
						return err
					}
				}
			})
			c, br := rawUpgrade(t, serveWS(t, ep, host)+"/ws")
			testutil.WaitFor(t, "the handler to run", 5*time.Second, func() bool { return host.inUse() == 1 })
			if tt.frame == nil {
				c.Close()
			} else {
				c.Write(tt.frame)
				if got := readClose(t, br); got != tt.code {
					t.Fatalf("close code %d, want %d", got, tt.code)
				}
				c.Close() // rather than wait for this client's close frame
			}
			testutil.WaitFor(t, "the handler to end", 5*time.Second, func() bool { return host.inUse() == 0 })
			if strings.Contains(logs.String(), "level=ERROR") || strings.Contains(logs.String(), "level=WARN") {
				t.Fatalf("a client's fault logged above info:\n%s", logs)
			}
		})
	}
}
