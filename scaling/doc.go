// Package scaling runs the replica pool of one service: a set of replicas
// between a minimum and a maximum, a router that sends each request to the
// replica with the fewest in-flight requests that has room, a bounded FIFO
// queue for requests that find no room, and an autoscaler that resizes the
// pool from the number of ongoing (running plus queued) requests.
//
// A request takes a slot with [Pool.Acquire] and gives it back with
// [Pool.Release]; both are allocation-free when a slot is free. The autoscaler
// policy is the pure function [Decide], run by the pool every control tick.
//
// Scaling never fails a request: a replica that is scaled down first leaves
// routing, then finishes its in-flight requests, then its Teardown runs.
// [Pool.Shutdown] drains the same way.
//
// The package uses the standard library only.
package scaling
