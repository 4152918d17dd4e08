package openapi

import "os"

// Info is the document's title, version and description.
type Info struct {
	Title       string
	Version     string
	Description string
}

// Default values of Info's fields.
const (
	DefaultTitle   = "replicaflow"
	DefaultVersion = "0.1.0"
)

// InfoFromEnv returns defaults with each field replaced by its environment
// variable when that is set and not empty: API_TITLE, API_VERSION and
// API_DESCRIPTION. Empty title and version fall back to DefaultTitle and
// DefaultVersion.
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
	if i.Title == "" {
		i.Title = DefaultTitle
	}
	if i.Version == "" {
		i.Version = DefaultVersion
	}
	return i
}
