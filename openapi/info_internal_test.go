package openapi

import "testing"

func TestFromBuild(t *testing.T) {
	tests := []struct {
		path, version  string
		title, wantVer string
	}{
		{"example.com/shop/cmd/shopd", "v1.4.2", "shopd", "1.4.2"},
		{"example.com/shop", "v1.4.3-0.20261130101010-abcdefabcdef", "shop", "1.4.3-0.20261130101010-abcdefabcdef"},
		{"example.com/shop", "(devel)", "shop", DefaultVersion},
		{"example.com/shop", "v0.0.0-20261130101010-abcdefabcdef+dirty", "shop", DefaultVersion},
		{"example.com/shop/flow.test", "", DefaultTitle, DefaultVersion},
		{"command-line-arguments", "", DefaultTitle, DefaultVersion},
		{"", "", DefaultTitle, DefaultVersion},
	}
	for _, tt := range tests {
		got := fromBuild(tt.path, tt.version)
		if got.Title != tt.title || got.Version != tt.wantVer {
			t.Errorf("fromBuild(%q, %q) = %q %q, want %q %q", tt.path, tt.version, got.Title, got.Version, tt.title, tt.wantVer)
		}
	}
}
