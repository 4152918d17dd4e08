package requests_test

import (
	"errors"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/requests"
)

type echoIn struct {
	Val  int        `json:"val"`
	When *time.Time `query:"when"`
}

// TestErrorsDoNotEchoHugeValues replays the red team's D10: a 1,000,000
// digit number used to come back whole in the 422. An error repeats at
// most a short prefix of the offending input.
func TestErrorsDoNotEchoHugeValues(t *testing.T) {
	huge := strings.Repeat("9", 1_000_000)
	plan, err := requests.NewPlan(reflect.TypeFor[echoIn]())
	if err != nil {
		t.Fatal(err)
	}
	bind := func(body, query string) error {
		req := httptest.NewRequest("POST", "/x?"+query, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = req
		var in echoIn
		return plan.Bind(c, &in, 8<<20)
	}
	tests := []struct {
		name   string
		err    error
		status int
		want   string // the whole message, when short
	}{
		{"huge number in the body", bind(`{"val":`+huge+`}`, ""), 422, ""},
		{"short number is quoted whole", bind(`{"val":1.5}`, ""), 422, "must be an integer that fits int, not a JSON number 1.5"},
		{"huge query value", bind(`{}`, "when="+huge), 422, "not an RFC 3339 time (like 2006-01-02T15:04:05Z)"},
		{"huge unknown field", requests.DecodeJSON(strings.NewReader(`{"`+huge+`":1}`), &struct{}{}), 422, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var re *requests.Error
			if !errors.As(tt.err, &re) || re.Status != tt.status || len(re.Fields) != 1 {
				t.Fatalf("got %v, want a %d with one field", tt.err, tt.status)
			}
			loc, msg := re.Fields[0].Location, re.Fields[0].Message
			if tt.want != "" && msg != tt.want {
				t.Fatalf("message %q, want %q", msg, tt.want)
			}
			if len(loc) > 200 || len(msg) > 200 {
				t.Fatalf("location of %d bytes, message of %d bytes (%.80q...), want both short", len(loc), len(msg), loc+" "+msg)
			}
			if strings.Contains(loc+msg, "99999") && !strings.HasSuffix(loc+msg, "…") && !strings.HasSuffix(loc, "…") {
				t.Fatalf("%q %q repeats the input without marking the cut", loc, msg)
			}
		})
	}
}
