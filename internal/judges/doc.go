// Package judges holds a test that shows the examples' OpenAPI documents to
// outside tools: the Redocly and Spectral linters, and the oapi-codegen (Go)
// and openapi-typescript client generators, whose clients must compile with
// every field a response always has typed as present.
//
// The tools are installed at pinned versions (npm packages into a cache
// directory, oapi-codegen with go run), so the test runs only when asked:
//
//	REPLICAFLOW_JUDGES=1 go test ./internal/judges
//
// REPLICAFLOW_NPM_CACHE names the directory the npm packages go to (a
// temporary one by default); a run with the same directory reuses them.
package judges
