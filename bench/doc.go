// Package bench holds replicaflow's load benchmarks, as commands that anyone
// can run on one machine (they only talk to 127.0.0.1):
//
//	go run ./bench/echo   # JSON echo and a query through replicaflow beside raw gin: server CPU and allocations per request
//	go run ./bench/step   # step load on the autoscale example: scale-up time, throughput, scale-down
//	go run ./bench/bodyhold # 100 clients holding nearly complete 8 MiB bodies: the server's peak RSS
//
// The micro-benchmarks live beside the code (go test -bench . -benchmem
// ./requests ./metrics ./scaling ./service ./flow); go test -bench .
// -benchmem ./bench/echo runs the same two endpoints in process, reporting
// the process CPU per request (cpu-ns/op) beside the wall time.
package bench
