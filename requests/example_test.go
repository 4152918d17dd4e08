package requests_test

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/replicaflow/replicaflow/requests"
)

type Search struct {
	Shop  string   `path:"shop"`
	Terms []string `query:"q" binding:"required"`
	Token string   `header:"X-Token"`
	Page  struct {
		Size int `json:"size" binding:"max=100"`
	} `json:"page"`
}

func ExampleNewPlan() {
	plan, err := requests.NewPlan(reflect.TypeFor[Search]())
	if err != nil {
		panic(err)
	}
	for _, f := range plan.Fields {
		fmt.Println(f.Name, f.Source, f.Key, f.Required)
	}
	// Output:
	// Shop path shop false
	// Terms query q true
	// Token header X-Token false
	// Page body page false
}

func ExampleDecodeJSON() {
	var cfg struct {
		Step int `json:"step" binding:"min=1"`
	}
	err := requests.DecodeJSON(strings.NewReader(`{"step": 0}`), &cfg)
	fmt.Println(err)
	// Output: the request did not validate: body.step must be at least 1
}
