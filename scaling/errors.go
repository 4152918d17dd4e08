package scaling

import "time"

// Error is a refusal by the pool that the client may retry later; the HTTP
// layer answers it with 503 and a Retry-After header.
type Error struct {
	msg        string
	retryAfter time.Duration
}

// Error returns the message.
func (e *Error) Error() string { return e.msg }

// RetryAfter returns how long the client should wait before retrying.
func (e *Error) RetryAfter() time.Duration { return e.retryAfter }

// Errors returned by Acquire. Each is an *Error and has a RetryAfter method.
var (
	// ErrQueueFull is returned when no slot is free and the queue is full.
	ErrQueueFull = &Error{"replicaflow: service overloaded: queue full", time.Second}
	// ErrQueueTimeout is returned when a request waited RequestTimeout in the queue.
	ErrQueueTimeout = &Error{"replicaflow: service overloaded: timed out in queue", time.Second}
	// ErrStopped is returned when the pool is shut down, and to requests still
	// waiting in the queue when Shutdown starts.
	ErrStopped = &Error{"replicaflow: service stopped", 5 * time.Second}
)
