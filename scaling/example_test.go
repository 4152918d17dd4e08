package scaling_test

import (
	"context"
	"fmt"
	"time"

	"github.com/replicaflow/replicaflow/scaling"
)

type connKey struct{}

func ExamplePool() {
	pool := scaling.NewPool(scaling.Options{
		Name:                 "hello",
		MinReplicas:          1,
		MaxReplicas:          8,
		MaxConcurrentQueries: 4,
		RequestTimeout:       5 * time.Second,
		Setup: func(ctx context.Context, r *scaling.Replica) error {
			r.SetValue(connKey{}, fmt.Sprintf("connection of replica %d", r.ID()))
			return nil
		},
		Teardown: func(r *scaling.Replica) {
			fmt.Println("closed", r.Value(connKey{}))
		},
	}, scaling.NewCPUs(0))
	if err := pool.Start(context.Background()); err != nil {
		panic(err)
	}

	// What the endpoint adapter does for every request.
	r, err := pool.Acquire(context.Background())
	if err != nil {
		panic(err) // an *scaling.Error: answer 503 with Retry-After
	}
	fmt.Println("serving with", r.Value(connKey{}))
	pool.Release(r)

	if err := pool.Shutdown(context.Background()); err != nil {
		panic(err)
	}
	_, err = pool.Acquire(context.Background())
	fmt.Println(err)
	// Output:
	// serving with connection of replica 1
	// closed connection of replica 1
	// service stopped
}
