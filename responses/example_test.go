package responses_test

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/replicaflow/replicaflow/responses"
)

func ExampleError() {
	err := fmt.Errorf("loading order 7: %w", responses.Error(http.StatusNotFound, "no order 7"))
	p, _, internal := responses.ProblemFor(err)
	fmt.Println(p.Status, p.Title, p.Detail, internal)

	p, _, internal = responses.ProblemFor(errors.New("connection refused by 10.0.0.7"))
	fmt.Println(p.Status, p.Detail, internal)
	// Output:
	// 404 Not Found no order 7 false
	// 500 the server failed to handle the request true
}
