package registry

import (
	"net"
	"strconv"
	"strings"
	"time"
)

// Status is the health of an instance as last seen by whoever checks it.
type Status string

// The statuses an instance can have.
const (
	// StatusUnknown is the status of an instance nobody has checked yet.
	StatusUnknown Status = "unknown"
	// StatusHealthy is the status of an instance whose health check passes.
	StatusHealthy Status = "healthy"
	// StatusUnhealthy is the status of an instance whose health check fails.
	StatusUnhealthy Status = "unhealthy"
)

// Instance is one running copy of a service.
type Instance struct {
	// Service is the service's stable name.
	Service string `json:"service"`
	// ID tells the instances of one service apart; by default "host:port".
	ID string `json:"id"`
	// Scheme is "http" (the default) or "https".
	Scheme string `json:"scheme,omitempty"`
	// Host is the host name or IP address the instance is reached at.
	Host string `json:"host"`
	// Port is the TCP port the instance listens on.
	Port int `json:"port"`
	// URL is the instance's base URL; empty means scheme://host:port.
	URL string `json:"url,omitempty"`
	// Version is the instance's own version string.
	Version string `json:"version,omitempty"`
	// Tags say what kinds of work the instance does.
	Tags []string `json:"tags,omitempty"`
	// HealthPath is the path, relative to the base URL, of the health check.
	HealthPath string `json:"health_path,omitempty"`
	// HealthInterval is how often the instance wants to be checked.
	HealthInterval time.Duration `json:"health_interval,omitempty"`
	// Metadata holds free-form information about the instance.
	Metadata map[string]string `json:"metadata,omitempty"`
	// Status is the last known health of the instance.
	Status Status `json:"status,omitempty"`
	// RegisteredAt is when the instance first registered.
	RegisteredAt time.Time `json:"registered_at"`
	// Owner is the hex SHA-256 of the secret a supervisor handed to the
	// worker that first registered the instance; only that worker may move
	// or remove the entry. Empty means nobody owns it.
	Owner string `json:"owner,omitempty"`
}

// BaseURL returns the URL the instance serves at: URL when set, or
// scheme://host:port.
func (i Instance) BaseURL() string {
	if i.URL != "" {
		return strings.TrimSuffix(i.URL, "/")
	}
	scheme := i.Scheme
	if scheme == "" {
		scheme = "http"
	}
	return scheme + "://" + net.JoinHostPort(i.Host, strconv.Itoa(i.Port))
}

// HealthURL returns the absolute URL of the instance's health check, or ""
// when it has no health path.
func (i Instance) HealthURL() string {
	if i.HealthPath == "" {
		return ""
	}
	p := i.HealthPath
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return i.BaseURL() + p
}

// Routable reports whether traffic may be sent to the instance: any status
// but unhealthy.
func (i Instance) Routable() bool { return i.Status != StatusUnhealthy }

// clone returns a deep copy, so callers never share slices or maps with the
// registry.
func (i Instance) clone() Instance {
	if i.Tags != nil {
		i.Tags = append([]string(nil), i.Tags...)
	}
	if i.Metadata != nil {
		m := make(map[string]string, len(i.Metadata))
		for k, v := range i.Metadata {
			m[k] = v
		}
		i.Metadata = m
	}
	return i
}
