package requests

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

type fuzzNested struct {
	Name  string            `json:"name" binding:"required,max=20"`
	Score float64           `json:"score" binding:"gte=0"`
	Tags  map[string]string `json:"tags"`
}

type fuzzJSON struct {
	ID    int          `path:"id"`
	Q     []int        `query:"q"`
	When  *time.Time   `query:"when"`
	Key   uint8        `header:"X-Key"`
	Items []fuzzNested `json:"items" binding:"dive"`
	Flag  *bool        `json:"flag"`
	Any   any          `json:"any"`
}

type fuzzForm struct {
	Title string        `form:"title" binding:"required"`
	N     []int16       `form:"n"`
	Doc   *UploadFile   `file:"doc"`
	More  []*UploadFile `file:"more"`
}

func fuzzBind[T any](t *testing.T, ct string, body []byte, query string) {
	plan, err := NewPlan(reflect.TypeFor[T]())
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/x/1?"+url.PathEscape(query), bytes.NewReader(body))
	req.URL.RawQuery = query
	req.Header.Set("Content-Type", ct)
	req.Header.Set("X-Key", query)
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	c.Request = req
	c.Params = gin.Params{{Key: "id", Value: query}}
	var v T
	err = plan.Bind(c, &v, 1<<16)
	if err == nil {
		return
	}
	var re *Error
	if !errors.As(err, &re) {
		t.Fatalf("Bind returned %T %v, want *requests.Error", err, err)
	}
	switch re.Status {
	case 400, 413, 415, 422:
	default:
		t.Fatalf("status %d for %v", re.Status, err)
	}
}

// FuzzBindJSON checks that no JSON body, query or header makes binding panic
// or fail with anything but a 4xx.
func FuzzBindJSON(f *testing.F) {
	f.Add("application/json", []byte(`{"items":[{"name":"a","score":1,"tags":{"k":"v"}}],"flag":true,"any":[1,"x"]}`), "q=1&q=2&when=2026-01-01T00:00:00Z")
	f.Add("application/json", []byte(`{"items":[{"score":-1}]}`), "q=x")
	f.Add("application/json", []byte(`{"items": [`), "")
	f.Add("application/json; charset=utf-8", []byte(`{} trailing`), "when=never")
	f.Add("text/plain", []byte(`{}`), "")
	f.Add("application/json", []byte(`{"items":[{"name":"\ud800"}],"any":1e999}`), "%zz")
	f.Add("", []byte(``), "q=99999999999999999999")
	f.Fuzz(func(t *testing.T, ct string, body []byte, query string) {
		fuzzBind[fuzzJSON](t, ct, body, query)
	})
}

// FuzzBindForm checks the same for urlencoded and multipart forms.
func FuzzBindForm(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", []byte("title=a&n=1&n=2"), "")
	f.Add("application/x-www-form-urlencoded", []byte("title=%zz&n=70000"), "")
	f.Add("multipart/form-data; boundary=XX", []byte("--XX\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhi\r\n--XX\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"a.txt\"\r\n\r\ndata\r\n--XX--\r\n"), "")
	f.Add("multipart/form-data; boundary=XX", []byte("--XX\r\nbroken"), "")
	f.Add("multipart/form-data", []byte("no boundary"), "")
	f.Add("application/json", []byte("{}"), "")
	f.Add("bad/;;type", []byte(""), "")
	f.Fuzz(func(t *testing.T, ct string, body []byte, query string) {
		fuzzBind[fuzzForm](t, ct, body, query)
	})
}

func init() { gin.SetMode(gin.TestMode) }
