// Package responses holds the values an endpoint can return to choose how it
// renders, and the errors it can return to choose its status.
//
// A plain value returned by a handler renders as JSON. A value of a type in
// this package (JSON, HTML, PlainText, File, Redirect, Streaming,
// EventStream) renders itself. Any error renders as RFC 9457 problem details
// (application/problem+json), chosen by ProblemFor: Error(status, detail)
// chooses the status, also when wrapped with %w; an error type of your own
// chooses it by implementing StatusError, and asks the client to come back
// later by implementing RetryAfterError; any other error is a 500 whose
// detail leaks nothing.
//
// The errors and their answers, the first that matches winning:
//
//	a StatusError (Error, Errorf, Invalid, your own type)  its status (400-599), its detail
//	*requests.Error (binding, Invalid)                   400, 413, 415 or 422, with errors[] per field
//	a RetryAfterError (the replica pool's overload)      503 with Retry-After
//	context.DeadlineExceeded                             504 Gateway Timeout, logged
//	context.Canceled (the client went away)              499, recorded in logs and metrics; no body is written
//	any other error                                      500, a generic detail, logged
//
// Invalid answers 422 with field errors from a handler, as a request that
// fails its binding rules is answered.
//
// WriteProblem is the one writer of problem details, at the net/http level;
// AbortWithProblem is its gin form, and RetryAfter the one Retry-After rule.
// Recover is the middleware that turns a panic into a 500 problem.
package responses
