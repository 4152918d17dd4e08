package requests_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/requests"
)

// TestDecodeJSONMessages checks the field errors a client reads: one
// message per rule, and the JSON kind a field wants.
func TestDecodeJSONMessages(t *testing.T) {
	type rules struct {
		Req    string   `json:"req" binding:"required"`
		Min    int      `json:"min" binding:"min=2"`
		Max    int      `json:"max" binding:"max=2"`
		GT     int      `json:"gt" binding:"gt=2"`
		LT     int      `json:"lt" binding:"lt=2"`
		Len    string   `json:"len" binding:"len=2"`
		OneOf  string   `json:"oneof" binding:"omitempty,oneof=a b"`
		Email  string   `json:"email" binding:"omitempty,email"`
		URL    string   `json:"url" binding:"omitempty,url"`
		Alpha  string   `json:"alpha" binding:"omitempty,alpha"`
		Prefix string   `json:"prefix" binding:"omitempty,startswith=x"`
		Flag   bool     `json:"flag"`
		Num    float64  `json:"num"`
		Small  int8     `json:"small"`
		List   []string `json:"list"`
		Obj    struct{} `json:"obj"`
	}
	valid := `"req":"r","min":2,"max":2,"gt":3,"lt":1,"len":"ab"`
	tests := []struct {
		name, body string
		status     int
		location   string
		message    string
	}{
		{"required", `{"min":2,"gt":3,"len":"ab"}`, 422, "body.req", "is required"},
		{"min", `{"req":"r","min":1,"gt":3,"len":"ab"}`, 422, "body.min", "must be at least 2"},
		{"max", `{` + valid + `,"max":3}`, 422, "body.max", "must be at most 2"},
		{"gt", `{"req":"r","min":2,"gt":2,"len":"ab"}`, 422, "body.gt", "must be greater than 2"},
		{"lt", `{` + valid + `,"lt":2}`, 422, "body.lt", "must be less than 2"},
		{"len", `{"req":"r","min":2,"gt":3,"len":"a"}`, 422, "body.len", "must have length 2"},
		{"oneof", `{` + valid + `,"oneof":"c"}`, 422, "body.oneof", "must be one of: a b"},
		{"email", `{` + valid + `,"email":"nope"}`, 422, "body.email", "must be an email address"},
		{"url", `{` + valid + `,"url":"nope"}`, 422, "body.url", "must be a URL"},
		{"other rule", `{` + valid + `,"alpha":"a1"}`, 422, "body.alpha", `failed the "alpha" rule`},
		{"other rule with a parameter", `{` + valid + `,"prefix":"y"}`, 422, "body.prefix", `failed the "startswith" rule (x)`},
		{"boolean", `{` + valid + `,"flag":"yes"}`, 422, "body.flag", "must be a boolean, not a JSON string"},
		{"number", `{` + valid + `,"num":"1"}`, 422, "body.num", "must be a number, not a JSON string"},
		{"integer that fits", `{` + valid + `,"small":300}`, 422, "body.small", "must be an integer that fits int8, not a JSON number 300"},
		{"array", `{` + valid + `,"list":"a"}`, 422, "body.list", "must be an array, not a JSON string"},
		{"object", `{` + valid + `,"obj":[]}`, 422, "body.obj", "must be an object, not a JSON array"},
		{"string", `{` + valid + `,"req":1}`, 422, "body.req", "must be a string, not a JSON number"},
		{"unknown field", `{` + valid + `,"extra":1}`, 422, "body.extra", "is not a field of this request"},
		{"no body", ``, 422, "body", "is required"},
		{"only whitespace", " \r\n\t ", 422, "body", "is required"},
		{"whitespace around a value", " \n{" + valid + "}\r\n", 0, "", ""},
		{"trailing data", `{` + valid + `} {}`, 400, "", ""},
		{"malformed", `{`, 400, "", ""},
		{"valid", `{` + valid + `}`, 0, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v rules
			err := requests.DecodeJSON(strings.NewReader(tt.body), &v)
			if tt.status == 0 {
				if err != nil {
					t.Fatalf("error %v, want none", err)
				}
				return
			}
			var re *requests.Error
			if !errors.As(err, &re) || re.Status != tt.status {
				t.Fatalf("error %v, want a %d *requests.Error", err, tt.status)
			}
			if tt.location == "" {
				return
			}
			if len(re.Fields) != 1 || re.Fields[0].Location != tt.location || re.Fields[0].Message != tt.message {
				t.Fatalf("fields %+v, want %s %q", re.Fields, tt.location, tt.message)
			}
		})
	}
}

func TestGinContext(t *testing.T) {
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest("GET", "/", nil)
	//lint:ignore SA1029 the key is gin's, as gin sets it
	carried := context.WithValue(context.Background(), gin.ContextKey, c)
	tests := []struct {
		name string
		ctx  context.Context
		want *gin.Context
	}{
		{"nil", nil, nil},
		{"not from a request", context.Background(), nil},
		{"the gin context itself", c, c},
		{"a context that carries it", carried, c},
		{"derived from one that carries it", context.WithoutCancel(carried), c},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := requests.GinContext(tt.ctx); got != tt.want {
				t.Fatalf("GinContext = %p, want %p", got, tt.want)
			}
		})
	}
}
