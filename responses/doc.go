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
// WriteProblem is the one writer of problem details, at the net/http level;
// AbortWithProblem is its gin form, and RetryAfter the one Retry-After rule.
// Recover is the middleware that turns a panic into a 500 problem.
package responses
