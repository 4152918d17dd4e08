package endpoint_test

import (
	"context"
	"slices"
	"testing"

	"github.com/replicaflow/replicaflow/endpoint"
	"github.com/replicaflow/replicaflow/internal/testutil"
)

func TestDocumentationOptions(t *testing.T) {
	h := func(context.Context, struct{}) (string, error) { return "", nil }
	tests := []struct {
		name        string
		opts        []endpoint.Option
		errors      []int
		security    []string
		public      bool
		contentType string
	}{
		{"none", nil, nil, nil, false, ""},
		{"errors add up", []endpoint.Option{endpoint.Errors(404), endpoint.Errors(401, 409)}, []int{404, 401, 409}, nil, false, ""},
		{"named schemes", []endpoint.Option{endpoint.Security("bearer", "key")}, nil, []string{"bearer", "key"}, false, ""},
		{"public", []endpoint.Option{endpoint.Security()}, nil, []string{}, true, ""},
		{"content type", []endpoint.Option{endpoint.ContentType("image/png")}, nil, nil, false, "image/png"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := endpoint.New("GET", "/x", h, tt.opts...)
			if !slices.Equal(ep.Errors, tt.errors) {
				t.Errorf("Errors %v, want %v", ep.Errors, tt.errors)
			}
			if !slices.Equal(ep.Security, tt.security) || (ep.Security != nil) != (tt.security != nil) {
				t.Errorf("Security %#v, want %#v", ep.Security, tt.security)
			}
			if ep.ContentType != tt.contentType {
				t.Errorf("ContentType %q, want %q", ep.ContentType, tt.contentType)
			}
		})
	}
}

func TestDocumentationOptionPanics(t *testing.T) {
	testutil.MustPanic(t, "302 is not a 4xx or 5xx", func() { endpoint.Errors(404, 302) })
	testutil.MustPanic(t, "is not a media type", func() { endpoint.ContentType("png") })
}
