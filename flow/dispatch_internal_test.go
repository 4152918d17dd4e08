package flow

import (
	"net/http"
	"testing"
)

// named is a handler that says which one it is.
type named string

func (named) ServeHTTP(http.ResponseWriter, *http.Request) {}

func TestTableLookup(t *testing.T) {
	entries := []mount{
		{"/", named("root")},
		{"/docs", named("docs")},
		{"/api", named("api")},
		{"/api/v2", named("api v2")},
		{"/api/v2/admin", named("api v2 admin")},
		{"/apis", named("apis")},
		{"/metrics", named("metrics")},
		{"/metrics", named("second metrics")}, // an equal prefix: the first wins
	}
	tests := []struct {
		path, want string
	}{
		{"/", "root"},
		{"", "root"},
		{"/docs", "docs"},
		{"/docs/", "docs"},
		{"/docs/index.html", "docs"},
		{"/docsx", "root"},
		{"/api", "api"},
		{"/api/", "api"},
		{"/api/v1/x", "api"},
		{"/api/v2", "api v2"},
		{"/api/v2x", "api"},
		{"/api/v2/admin/users", "api v2 admin"},
		{"/apis/1", "apis"},
		{"/metrics", "metrics"},
		{"/users/7", "root"},
		{"//api", "root"},
	}
	withRoot := newTable(entries, named("fallback"))
	withoutRoot := newTable(entries[1:], named("fallback"))
	for _, tt := range tests {
		if got := withRoot.lookup(tt.path); got != named(tt.want) {
			t.Errorf("lookup(%q) = %v, want %s", tt.path, got, tt.want)
		}
		want := tt.want
		if want == "root" {
			want = "fallback"
		}
		if got := withoutRoot.lookup(tt.path); got != named(want) {
			t.Errorf("without a root: lookup(%q) = %v, want %s", tt.path, got, want)
		}
	}
}
