// Package responses holds the values an endpoint can return to choose how it
// renders, and the errors it can return to choose its status.
//
// A plain value returned by a handler renders as JSON. A value of a type in
// this package (JSON, HTML, PlainText, File, Redirect, Streaming,
// EventStream) renders itself. Any error renders as RFC 9457 problem details
// (application/problem+json): Error(status, detail) chooses the status, also
// when wrapped with %w, and any other error is a 500 whose detail leaks
// nothing.
package responses
