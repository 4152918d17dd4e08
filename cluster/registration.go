package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/replicaflow/replicaflow/registry"
)

// Registration is what a worker sends to a supervisor: PicoAPI's payload
// {name, tags, host, port, healthcheck: {url, interval}}, plus an optional
// instance ID, version, scheme and metadata. Port and interval may be JSON
// numbers or strings, as PicoAPI's workers send them.
type Registration struct {
	// Name is the service name.
	Name string `json:"name"`
	// ID tells instances apart; empty means "host:port".
	ID string `json:"id,omitempty"`
	// Host is where the worker is reached.
	Host string `json:"host"`
	// Port is the worker's TCP port.
	Port Number `json:"port"`
	// Scheme is "http" (default) or "https".
	Scheme string `json:"scheme,omitempty"`
	// Version is the worker's version.
	Version string `json:"version,omitempty"`
	// Tags say what the worker does.
	Tags []string `json:"tags,omitempty"`
	// HealthCheck says how to check the worker.
	HealthCheck *HealthCheck `json:"healthcheck,omitempty"`
	// Metadata is free-form; non-string values are kept as their JSON text.
	Metadata map[string]any `json:"metadata,omitempty"`
}

// HealthCheck is PicoAPI's health-check definition: the absolute URL to GET
// and the interval between checks, in seconds.
type HealthCheck struct {
	// URL is the absolute health-check URL on the worker's host.
	URL string `json:"url"`
	// Interval is the number of seconds between checks.
	Interval Number `json:"interval"`
}

// Number is a JSON number that may also arrive as a string ("8888").
type Number float64

// UnmarshalJSON accepts 8888, "8888" and null.
func (n *Number) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" || s == `""` {
		*n = 0
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		s = strings.TrimSpace(str)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("not a number: %s", b)
	}
	*n = Number(f)
	return nil
}

// SecretHeader carries an instance's secret. A supervisor hands the secret
// to the worker that first registers an instance ID (the "secret" of its
// answer) and asks for it again, in this header, before it lets anyone move
// that instance to another address, or remove it; a renewal that carries a
// secret which no longer matches is refused, so the worker learns it lost
// the entry. A registration without the secret that changes nothing about
// where the instance is reached and checked (a worker restarted at the same
// address) is accepted, but earns no secret.
const SecretHeader = "Replicaflow-Instance-Secret"

// ErrRegistration wraps every reason Instance rejects a registration.
var ErrRegistration = errors.New("invalid registration")

// Instance checks the registration and turns it into a registry instance.
// The health URL must be http or https and point at the worker's own host
// and port, so a registration cannot make the supervisor poll another
// machine.
func (r Registration) Instance() (registry.Instance, error) {
	bad := func(format string, a ...any) (registry.Instance, error) {
		return registry.Instance{}, fmt.Errorf("%w: "+format, append([]any{ErrRegistration}, a...)...)
	}
	if strings.TrimSpace(r.Name) == "" {
		return bad("name is required")
	}
	if r.Host == "" || strings.ContainsAny(r.Host, "/ @?#") {
		return bad("host %q is not a host name or address", r.Host)
	}
	port := float64(r.Port)
	if port != math.Trunc(port) || port < 1 || port > 65535 {
		return bad("port %v is not between 1 and 65535", port)
	}
	scheme := r.Scheme
	if scheme == "" {
		scheme = "http"
	}
	if scheme != "http" && scheme != "https" {
		return bad("scheme %q is not http or https", scheme)
	}
	inst := registry.Instance{
		Service: r.Name, ID: r.ID, Scheme: scheme, Host: r.Host, Port: int(port),
		Version: r.Version, Tags: r.Tags, Status: registry.StatusUnknown,
	}
	if inst.ID == "" {
		inst.ID = net.JoinHostPort(r.Host, strconv.Itoa(inst.Port))
	}
	if len(r.Metadata) > 0 {
		inst.Metadata = make(map[string]string, len(r.Metadata))
		for k, v := range r.Metadata {
			if s, ok := v.(string); ok {
				inst.Metadata[k] = s
			} else {
				b, _ := json.Marshal(v)
				inst.Metadata[k] = string(b)
			}
		}
	}
	if hc := r.HealthCheck; hc != nil {
		if hc.Interval < 0 {
			return bad("healthcheck.interval %v is negative", float64(hc.Interval))
		}
		inst.HealthInterval = time.Duration(float64(hc.Interval) * float64(time.Second))
		if hc.URL != "" {
			u, err := url.Parse(hc.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return bad("healthcheck.url %q is not an absolute http(s) URL", hc.URL)
			}
			if !sameHost(u, r.Host, inst.Port) {
				return bad("healthcheck.url %q is not on %s", hc.URL, net.JoinHostPort(r.Host, strconv.Itoa(inst.Port)))
			}
			inst.Scheme = u.Scheme
			inst.HealthPath = u.EscapedPath()
			if inst.HealthPath == "" {
				inst.HealthPath = "/"
			}
			if u.RawQuery != "" {
				inst.HealthPath += "?" + u.RawQuery
			}
		}
	}
	if err := validName(inst.Service, inst.ID); err != nil {
		return bad("%v", err)
	}
	return inst, nil
}

func sameHost(u *url.URL, host string, port int) bool {
	p := u.Port()
	if p == "" {
		p = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return strings.EqualFold(u.Hostname(), strings.Trim(host, "[]")) && p == strconv.Itoa(port)
}

func validName(service, id string) error {
	if strings.ContainsAny(service, "/:{} \x00\r\n") || len(service) > 255 {
		return fmt.Errorf("name %q may not contain / : { } or spaces", service)
	}
	if strings.ContainsAny(id, "/ \x00\r\n") || len(id) > 255 {
		return fmt.Errorf("id %q may not contain / or spaces", id)
	}
	return nil
}

// RegistrationOf builds the payload a worker sends for inst: PicoAPI's
// fields with an absolute health URL, plus ID and version.
func RegistrationOf(inst registry.Instance) Registration {
	r := Registration{
		Name: inst.Service, ID: inst.ID, Host: inst.Host, Port: Number(inst.Port),
		Scheme: inst.Scheme, Version: inst.Version, Tags: inst.Tags,
	}
	if inst.HealthPath != "" || inst.HealthInterval > 0 {
		r.HealthCheck = &HealthCheck{URL: inst.HealthURL(), Interval: Number(inst.HealthInterval.Seconds())}
	}
	if len(inst.Metadata) > 0 {
		r.Metadata = make(map[string]any, len(inst.Metadata))
		for k, v := range inst.Metadata {
			r.Metadata[k] = v
		}
	}
	return r
}
