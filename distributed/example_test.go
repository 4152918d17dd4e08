package distributed_test

import (
	"fmt"

	"github.com/replicaflow/replicaflow/distributed"
)

func ExampleSubject() {
	// Workers and ingresses meet on the service's stable name, never its
	// per-process ID.
	fmt.Println(distributed.Subject(distributed.DefaultPrefix, "shop", "billing"))
	// Output: rf.shop.billing
}
