package openapi_test

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/replicaflow/replicaflow/openapi"
)

func ExampleBuild() {
	type Greeting struct {
		Name string `json:"name" binding:"required"`
	}
	type Reply struct {
		Message string `json:"message"`
	}
	doc, err := openapi.Build(openapi.Info{Title: "hello"}, []openapi.Operation{{
		Service:  "hello",
		Method:   "POST",
		Path:     "/hello/:lang",
		Request:  reflect.TypeFor[Greeting](),
		Response: reflect.TypeFor[Reply](),
	}})
	if err != nil {
		panic(err)
	}
	op := doc.Paths["/hello/{lang}"].Post
	fmt.Println(op.OperationID, op.Tags)
	body, _ := json.Marshal(op.RequestBody.Content["application/json"].Schema)
	fmt.Println(string(body))
	reply, _ := json.Marshal(doc.Components.Schemas["Reply"])
	fmt.Println(string(reply))
	// Output:
	// post-hello-by-lang [hello]
	// {"$ref":"#/components/schemas/Greeting"}
	// {"type":"object","properties":{"message":{"type":"string"}},"required":["message"]}
}
