package scaling

import "time"

// Error is a refusal by the pool that the client may retry later; the HTTP
// layer answers it with 503 and a Retry-After header. Its text is meant for
// the client.
type Error struct {
	msg        string
	retryAfter time.Duration
	kind       *Error // the sentinel this error is an instance of; nil for a sentinel
}

// Error returns the message.
func (e *Error) Error() string { return e.msg }

// RetryAfter returns how long the client should wait before retrying.
func (e *Error) RetryAfter() time.Duration { return e.retryAfter }

// Is reports whether target is the sentinel e is an instance of, so that
// errors.Is(err, ErrNotReady) holds for the error that names the cause.
func (e *Error) Is(target error) bool { return e.kind != nil && target == e.kind }

// Errors returned by Acquire. Each is an *Error and has a RetryAfter method.
var (
	// ErrQueueFull is returned when no slot is free and the queue is full
	// (or disabled).
	ErrQueueFull = &Error{msg: "service overloaded: queue full", retryAfter: time.Second}
	// ErrQueueTimeout is returned when a request waited RequestTimeout in the queue.
	ErrQueueTimeout = &Error{msg: "service overloaded: timed out in queue", retryAfter: time.Second}
	// ErrStopped is returned when the pool is shut down, and to requests still
	// waiting in the queue when Shutdown starts.
	ErrStopped = &Error{msg: "service stopped", retryAfter: 5 * time.Second}
	// ErrNotReady is matched (with errors.Is) by the error returned while no
	// replica is ready and the last Setup failed; its text adds the Setup
	// error: "no replica is ready: build dependency: connection refused".
	// Requests waiting in the queue get it as soon as a Setup fails.
	ErrNotReady = &Error{msg: "no replica is ready", retryAfter: time.Second}
)

// notReady returns the ErrNotReady instance for a Setup failure.
func notReady(cause error) *Error {
	return &Error{msg: ErrNotReady.msg + ": " + cause.Error(), retryAfter: ErrNotReady.retryAfter, kind: ErrNotReady}
}
