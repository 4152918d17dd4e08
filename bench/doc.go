// Package bench holds replicaflow's load benchmarks, as commands that anyone
// can run on one machine (they only talk to 127.0.0.1):
//
//	go run ./bench/echo   # JSON echo through the replica pool beside raw gin: server CPU per request
//	go run ./bench/step   # step load on the autoscale example: scale-up time, throughput, scale-down
//
// The micro-benchmarks live beside the code: go test -bench . ./scaling ./service ./flow
package bench
