package requests

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"

	"github.com/coder/websocket"
)

// WebSocket is the server end of an upgraded connection, as a WebSocket
// endpoint's handler gets it. Read and write messages with its methods (or
// with ReadJSON and WriteJSON for typed JSON messages); Conn gives the
// underlying github.com/coder/websocket connection for everything else.
//
// One goroutine may read while others write. The endpoint closes the
// connection when the handler returns: with 1000 (normal closure) on a nil
// error, 1001 (going away) when the server or service is stopping, the code
// of a returned websocket.CloseError, 1008 (policy violation) for a client
// error such as a malformed message, 1002 (protocol error) when the client
// broke the WebSocket protocol (logged at info), and 1011 (internal error)
// otherwise. A client that leaves without a close frame is logged at debug.
type WebSocket struct {
	conn    *websocket.Conn
	req     *http.Request
	away    <-chan struct{}
	reading atomic.Int32
	drained atomic.Bool // CloseRead was called: a goroutine reads control frames
}

// NewWebSocket wraps an accepted connection; r is the upgrade request and
// away a channel closed when the server asks the connection to end. The
// endpoint package makes one for every WebSocket call; programs rarely need
// to.
func NewWebSocket(conn *websocket.Conn, r *http.Request, away <-chan struct{}) *WebSocket {
	return &WebSocket{conn: conn, req: r, away: away}
}

// Conn returns the underlying connection.
func (w *WebSocket) Conn() *websocket.Conn { return w.conn }

// Request returns the upgrade request: its URL, headers, cookies and remote
// address. Its body is gone.
func (w *WebSocket) Request() *http.Request { return w.req }

// Subprotocol returns the negotiated subprotocol, "" for none.
func (w *WebSocket) Subprotocol() string { return w.conn.Subprotocol() }

// GoingAway returns a channel closed when the server or the service is
// shutting down, or the connection's replica is leaving: the handler should
// finish and return. After the endpoint's close grace period the connection
// is closed with 1001 (going away) whatever the handler does.
func (w *WebSocket) GoingAway() <-chan struct{} { return w.away }

// Read reads one data message (text or binary). It also answers the peer's
// pings and the keep-alive's pongs, so a handler that expects messages
// should keep a Read going; one that only writes should call CloseRead.
func (w *WebSocket) Read(ctx context.Context) (websocket.MessageType, []byte, error) {
	w.reading.Add(1)
	defer w.reading.Add(-1)
	return w.conn.Read(ctx)
}

// Write writes one data message.
func (w *WebSocket) Write(ctx context.Context, typ websocket.MessageType, p []byte) error {
	return w.conn.Write(ctx, typ, p)
}

// WriteJSON writes v as one JSON text message.
func (w *WebSocket) WriteJSON(ctx context.Context, v any) error {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return err
	}
	return w.conn.Write(ctx, websocket.MessageText, bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// CloseRead starts reading control frames in the background for a handler
// that only writes: pings are answered, the keep-alive works and the
// returned context ends when the peer closes the connection. A data message
// from the peer then closes the connection with 1008 (policy violation).
func (w *WebSocket) CloseRead(ctx context.Context) context.Context {
	w.drained.Store(true)
	return w.conn.CloseRead(ctx)
}

// Close closes the connection with a status code and a short reason (at most
// 123 bytes), performing the close handshake. Later calls do nothing.
func (w *WebSocket) Close(code websocket.StatusCode, reason string) error {
	return w.conn.Close(code, reason)
}

// Reading reports whether something reads from the connection now (a Read
// in progress or CloseRead), so that a ping can be answered.
func (w *WebSocket) Reading() bool { return w.reading.Load() > 0 || w.drained.Load() }

// ReadJSON reads one message and decodes it into a T as an endpoint decodes
// a JSON body: unknown fields are refused and `binding` tags validated. A
// message that does not decode or validate is an *Error (400 or 422) and the
// connection stays open: the handler may answer it and go on, or return the
// error, which closes the connection with 1008 (policy violation) and the
// error's detail. Errors from the connection itself are returned as they are
// (see websocket.CloseStatus).
func ReadJSON[T any](ctx context.Context, w *WebSocket) (T, error) {
	var v T
	_, p, err := w.Read(ctx)
	if err != nil {
		return v, err
	}
	if err := DecodeJSON(bytes.NewReader(p), &v); err != nil {
		return v, err
	}
	return v, nil
}
