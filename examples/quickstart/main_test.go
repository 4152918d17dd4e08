package main

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/replicaflow/replicaflow/flowtest"
)

func TestQuickstart(t *testing.T) {
	c := flowtest.New(t, NewApp())
	if got := flowtest.Call[MyType](c, "POST", "/", MyType{Val: 7}); got.Val != 7 {
		t.Fatalf("echo gave %+v", got)
	}
	if got := flowtest.Call[int](c, "GET", "/my_endpoint?my_int=1", nil); got != 1 {
		t.Fatalf("my_int gave %d", got)
	}
	if got := flowtest.Call[Hello](c, "GET", "/users/ada", nil); got.Message != "hello ada" {
		t.Fatalf("users gave %+v", got)
	}
	req := httptest.NewRequest("POST", "/raw", strings.NewReader("anything"))
	req.Header.Set("Content-Type", "text/csv")
	if res := c.Do(req); res.Status != 200 || res.Text() != "POST /raw text/csv" {
		t.Fatalf("raw gave %d %q", res.Status, res.Text())
	}
	res := c.Get("/my_endpoint?my_int=one")
	if p := res.Problem(); res.Status != 422 || p.Errors[0].Location != "query.my_int" {
		t.Fatalf("bad my_int gave %d %+v", res.Status, p)
	}
}
