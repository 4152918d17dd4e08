package openapi

import (
	"errors"
	"fmt"
	"os"
	"path"
	"runtime/debug"
	"strings"
	"sync"
)

// Info is the framing of the document: its title, version and
// description, the servers it is reached on and the security schemes its
// operations use.
type Info struct {
	Title       string
	Version     string
	Description string
	// Servers are the base URLs of the API, absolute or relative to the
	// document's own URL ("." when the document is served at the API's
	// root). A relative URL keeps Swagger UI's "Try it out" and generated
	// clients right when the application is mounted under a path prefix.
	// Empty: the document has no servers entry.
	Servers []string
	// SecuritySchemes declares the schemes operations may name, by name.
	SecuritySchemes map[string]SecurityScheme
	// Security names the schemes every operation requires, any one of them
	// being enough, unless the operation's own Security says otherwise.
	// Each name must be in SecuritySchemes.
	Security []string
}

// Fallbacks of Info's title and version when neither the application nor
// the binary gives one (see DefaultInfo).
const (
	DefaultTitle   = "API"
	DefaultVersion = "0.1.0"
)

// DefaultInfo is the title and version a document has when the
// application sets none: the name of the binary's main package and the main
// module's version as the Go toolchain stamped it (a tag like v1.2.0, or a
// pseudo-version when built from a repository without a tag), falling back
// to DefaultTitle and DefaultVersion when the build records neither (go
// run, go test, a development build).
var DefaultInfo = sync.OnceValue(func() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return fromBuild("", "")
	}
	return fromBuild(bi.Path, bi.Main.Version)
})

// fromBuild is the default Info of a binary whose main package is at
// mainPath and whose main module has the given version.
func fromBuild(mainPath, version string) Info {
	info := Info{Title: DefaultTitle, Version: DefaultVersion}
	if name := path.Base(mainPath); mainPath != "" && mainPath != "command-line-arguments" && !strings.HasSuffix(mainPath, ".test") && name != "." && name != "/" {
		info.Title = name
	}
	if version != "" && version != "(devel)" && !strings.HasPrefix(version, "v0.0.0-") {
		info.Version = strings.TrimPrefix(version, "v")
	}
	return info
}

// InfoFromEnv returns defaults with each field replaced by its environment
// variable when that is set and not empty: API_TITLE, API_VERSION and
// API_DESCRIPTION. Empty title and version fall back to DefaultInfo.
func InfoFromEnv(defaults Info) Info {
	info := defaults
	if v := os.Getenv("API_TITLE"); v != "" {
		info.Title = v
	}
	if v := os.Getenv("API_VERSION"); v != "" {
		info.Version = v
	}
	if v := os.Getenv("API_DESCRIPTION"); v != "" {
		info.Description = v
	}
	return info.withDefaults()
}

func (i Info) withDefaults() Info {
	d := DefaultInfo()
	if i.Title == "" {
		i.Title = d.Title
	}
	if i.Version == "" {
		i.Version = d.Version
	}
	return i
}

// SecurityScheme is a way clients authenticate, as the document declares
// it. Make one with BearerAuth, BasicAuth, APIKeyHeader, APIKeyQuery or
// APIKeyCookie.
type SecurityScheme struct {
	// Type is "http" or "apiKey".
	Type string
	// Scheme is the HTTP scheme of an "http" type: "bearer" or "basic".
	Scheme string
	// BearerFormat hints at the bearer token's format, e.g. "JWT".
	BearerFormat string
	// In is where an API key goes: "header", "query" or "cookie".
	In string
	// Name is the header, query parameter or cookie that carries the key.
	Name string
	// Description documents the scheme.
	Description string
}

// BearerAuth is an Authorization: Bearer token; format hints at the
// token's format ("JWT") and may be empty.
func BearerAuth(format string) SecurityScheme {
	return SecurityScheme{Type: "http", Scheme: "bearer", BearerFormat: format}
}

// BasicAuth is HTTP basic authentication.
func BasicAuth() SecurityScheme { return SecurityScheme{Type: "http", Scheme: "basic"} }

// APIKeyHeader is a key sent in the named header.
func APIKeyHeader(name string) SecurityScheme {
	return SecurityScheme{Type: "apiKey", In: "header", Name: name}
}

// APIKeyQuery is a key sent in the named query parameter.
func APIKeyQuery(name string) SecurityScheme {
	return SecurityScheme{Type: "apiKey", In: "query", Name: name}
}

// APIKeyCookie is a key (a session, say) sent in the named cookie.
func APIKeyCookie(name string) SecurityScheme {
	return SecurityScheme{Type: "apiKey", In: "cookie", Name: name}
}

// validate reports what makes s a scheme the document cannot declare.
func (s SecurityScheme) validate() error {
	switch s.Type {
	case "http":
		switch strings.ToLower(s.Scheme) {
		case "":
			return errors.New(`an "http" scheme needs Scheme ("bearer" or "basic")`)
		case "bearer":
		default:
			if s.BearerFormat != "" {
				return fmt.Errorf("BearerFormat is for the bearer scheme, not %q", s.Scheme)
			}
		}
	case "apiKey":
		if s.In != "header" && s.In != "query" && s.In != "cookie" {
			return fmt.Errorf(`an "apiKey" scheme goes in "header", "query" or "cookie", not %q`, s.In)
		}
		if s.Name == "" {
			return errors.New(`an "apiKey" scheme needs the Name of its header, query parameter or cookie`)
		}
	default:
		return fmt.Errorf(`type %q: the document declares "http" and "apiKey" schemes`, s.Type)
	}
	return nil
}
