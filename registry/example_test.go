package registry_test

import (
	"context"
	"fmt"

	"github.com/replicaflow/replicaflow/registry"
)

func ExampleNewMemory() {
	ctx := context.Background()
	reg := registry.NewMemory()
	defer reg.Close()
	_ = reg.Register(ctx, registry.Instance{Service: "users", ID: "a", Host: "127.0.0.1", Port: 8081,
		Status: registry.StatusHealthy}, 0)
	list, _ := reg.Find(ctx, "users")
	urls, _ := reg.URLMap(ctx)
	fmt.Println(len(list), list[0].BaseURL(), urls["users"])
	// Output: 1 http://127.0.0.1:8081 http://127.0.0.1:8081
}
