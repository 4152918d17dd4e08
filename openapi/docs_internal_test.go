package openapi

import (
	"io/fs"
	"testing"

	swaggerFiles "github.com/swaggo/files/v2"
)

// TestDocsAssetsExist keeps the allow-list true to the embedded Swagger UI:
// every file it lets through is there, and none of the page's own files
// shadows one of Swagger UI's.
func TestDocsAssetsExist(t *testing.T) {
	for name := range swaggerAssets {
		if _, err := fs.Stat(swaggerFiles.FS, name); err != nil {
			t.Errorf("the allow-list names %s, which swaggo/files does not ship: %v", name, err)
		}
	}
	for _, name := range []string{"index.html", "swagger-initializer.js"} {
		if swaggerAssets[name] {
			t.Errorf("%s is the page's own, not an asset", name)
		}
	}
}
