package requests

import (
	"bytes"
	"io"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/gin-gonic/gin"
)

type benchQuery struct {
	Count int `query:"count"`
}

type benchPath struct {
	ID    int64  `path:"id"`
	Name  string `query:"name"`
	Limit *int   `query:"limit"`
}

type benchEcho struct {
	Name  string   `json:"name" binding:"required"`
	Count int      `json:"count"`
	Tags  []string `json:"tags"`
}

// benchBind binds the request of c into a T b.N times.
func benchBind[T any](b *testing.B, c *gin.Context, reset func()) {
	plan, err := NewPlan(reflect.TypeFor[T]())
	if err != nil {
		b.Fatal(err)
	}
	var v T
	b.ReportAllocs()
	for b.Loop() {
		reset()
		if err := plan.Bind(c, &v, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBind measures binding alone: a struct of one query parameter (no
// body, no rules), path and query parameters, a validated JSON body, and one
// whose required field is sent with its zero value (the body is asked
// whether it was sent).
func BenchmarkBind(b *testing.B) {
	b.Run("query", func(b *testing.B) {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest("GET", "/q?count=42", nil)
		benchBind[benchQuery](b, c, func() {})
	})
	b.Run("path+query", func(b *testing.B) {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest("GET", "/users/7?name=a+b&limit=10", nil)
		c.Params = gin.Params{{Key: "id", Value: "7"}}
		benchBind[benchPath](b, c, func() {})
	})
	for _, bc := range []struct{ name, body string }{
		{"json", `{"name":"replicaflow","count":42,"tags":["a","b","c"]}`},
		{"json-zero", `{"count":42,"tags":["a","b","c"],"name":""}`},
	} {
		b.Run(bc.name, func(b *testing.B) { benchJSON(b, []byte(bc.body)) })
	}
}

// benchJSON binds body into a benchEcho b.N times.
func benchJSON(b *testing.B, body []byte) {
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest("POST", "/echo", nil)
	c.Request.Header.Set("Content-Type", "application/json")
	r := bytes.NewReader(body)
	benchBind[benchEcho](b, c, func() {
		r.Reset(body)
		c.Request.Body = io.NopCloser(r)
		c.Request.ContentLength = int64(len(body))
	})
}
