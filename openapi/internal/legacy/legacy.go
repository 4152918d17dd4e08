// Package legacy holds types whose names clash with the openapi tests' own,
// to test how component names are qualified.
package legacy

// User is a user of an older API: same name as openapi_test.User.
type User struct {
	Login string `json:"login" binding:"required"`
}
