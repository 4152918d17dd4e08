package gateway

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/replicaflow/replicaflow/cluster/internal/httpx"
	"github.com/replicaflow/replicaflow/internal/guard"
	"github.com/replicaflow/replicaflow/responses"
)

// managementRoutes mounts the seed's service management API, every route
// behind the token (or loopback) guard:
//
//	POST   /service   {domain, name_service, port[, health_path]}
//	DELETE /service   ?id_service=N | ?name_service=X | the same JSON body
//	GET    /services  every upstream with its status ([] when none)
//	PATCH  /services  health-check every upstream now, then list them
func (g *Gateway) managementRoutes() *http.ServeMux {
	m := http.NewServeMux()
	guard := func(h http.HandlerFunc) http.Handler { return guard.Protect(g.opts.Token, h) }
	m.Handle("POST /service", guard(g.handleAdd))
	m.Handle("DELETE /service", guard(g.handleDelete))
	m.Handle("GET /services", guard(g.handleList))
	m.Handle("PATCH /services", guard(g.handleRefresh))
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "POST, DELETE, GET, PATCH")
		responses.WriteProblem(w, r, responses.NewProblem(http.StatusMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path, nil), nil)
	})
	return m
}

var serviceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$`)

// reserved names would collide with the management routes.
var reserved = []string{"service", "services"}

// validEntry checks an entry as the seed says: a domain with its scheme and
// no port, a unique name, a port.
func validEntry(e *Entry) string {
	if e.Port == 0 {
		e.Port = 80
	}
	if !serviceName.MatchString(e.NameService) || slices.Contains(reserved, e.NameService) {
		return "name_service must be letters, digits, '.', '_', '~' or '-' (and not service or services)"
	}
	u, err := url.Parse(e.Domain)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return "domain must include the protocol, e.g. http://127.0.0.1"
	}
	if u.Port() != "" {
		return "you cannot specify the port in the domain; send it as port"
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil || u.Fragment != "" {
		return "domain must be only a protocol and a host"
	}
	e.Domain = u.Scheme + "://" + u.Host
	if e.Port < 1 || e.Port > 65535 {
		return "port must be between 1 and 65535"
	}
	if e.HealthPath != "" && !strings.HasPrefix(e.HealthPath, "/") {
		return "health_path must start with /"
	}
	return ""
}

func (g *Gateway) handleAdd(w http.ResponseWriter, r *http.Request) {
	var e Entry
	if !httpx.Decode(w, r, &e) {
		return
	}
	if msg := validEntry(&e); msg != "" {
		responses.WriteProblem(w, r, responses.NewProblem(http.StatusUnprocessableEntity, msg, nil), nil)
		return
	}
	g.mu.Lock()
	for _, old := range g.entries {
		if old.NameService == e.NameService && old.Domain == e.Domain && old.Port == e.Port {
			g.mu.Unlock()
			responses.WriteProblem(w, r, responses.NewProblem(http.StatusConflict, "the "+e.NameService+" service already has this upstream", nil), nil)
			return
		}
	}
	e.ID = g.nextID + 1
	next := append(slices.Clone(g.entries), e)
	if err := g.opts.Store.Save(r.Context(), next); err != nil {
		g.mu.Unlock()
		responses.WriteProblem(w, r, responses.NewProblem(http.StatusServiceUnavailable, "the store refused the entry: "+err.Error(), nil), nil)
		return
	}
	g.entries, g.nextID = next, e.ID
	g.mu.Unlock()
	httpx.JSON(w, http.StatusCreated, e)
}

func (g *Gateway) handleDelete(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sel := struct {
		ID          int    `json:"id_service"`
		NameService string `json:"name_service"`
		Domain      string `json:"domain"`
		Port        int    `json:"port"`
	}{NameService: q.Get("name_service")}
	if s := q.Get("id_service"); s != "" {
		id, err := strconv.Atoi(s)
		if err != nil {
			responses.WriteProblem(w, r, responses.NewProblem(http.StatusUnprocessableEntity, "id_service must be a number", nil), nil)
			return
		}
		sel.ID = id
	}
	if sel.ID == 0 && sel.NameService == "" {
		if r.ContentLength == 0 {
			responses.WriteProblem(w, r, responses.NewProblem(http.StatusUnprocessableEntity, "give id_service or name_service, in the query or a JSON body", nil), nil)
			return
		}
		if !httpx.Decode(w, r, &sel) {
			return
		}
	}
	match := func(e Entry) bool {
		switch {
		case sel.ID != 0:
			return e.ID == sel.ID
		case sel.NameService != e.NameService:
			return false
		case sel.Domain != "" && strings.TrimSuffix(sel.Domain, "/") != e.Domain:
			return false
		}
		return sel.Port == 0 || sel.Port == e.Port
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	next := slices.DeleteFunc(slices.Clone(g.entries), match)
	n := len(g.entries) - len(next)
	if n == 0 {
		responses.WriteProblem(w, r, responses.NewProblem(http.StatusNotFound, "no matching service", nil), nil)
		return
	}
	if err := g.opts.Store.Save(r.Context(), next); err != nil {
		responses.WriteProblem(w, r, responses.NewProblem(http.StatusServiceUnavailable, "the store refused the change: "+err.Error(), nil), nil)
		return
	}
	g.entries = next
	httpx.JSON(w, http.StatusOK, map[string]int{"deleted": n})
}

// Row is one upstream in GET /services.
type Row struct {
	// ID is the entry's id_service; 0 for a registry instance.
	ID int `json:"id,omitempty"`
	// NameService is the service name.
	NameService string `json:"name_service"`
	// Domain and Port are the entry's fields (empty for a registry
	// instance).
	Domain string `json:"domain,omitempty"`
	Port   int    `json:"port"`
	// URL is the upstream's base URL.
	URL string `json:"url"`
	// Source is "gateway" for an entry, "registry" for a registry instance.
	Source string `json:"source"`
	// Status is healthy, unhealthy or unknown.
	Status string `json:"status"`
	// Error is the last failure seen.
	Error string `json:"error,omitempty"`
	// InFlight is the number of requests being served.
	InFlight int `json:"in_flight"`
	// Replicas is a NATS instance's running replicas.
	Replicas int `json:"replicas,omitempty"`
}

// Rows lists every upstream: the entries, the registry's instances, then
// the remote (NATS) instances.
func (g *Gateway) Rows(ctx context.Context) []Row {
	rows := []Row{}
	remote := g.remoteRows(ctx)
	var insts = g.registryAll(ctx)
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, e := range g.entries {
		u := g.upstreamFor(entryURL(e))
		st, errText := u.status()
		rows = append(rows, Row{ID: e.ID, NameService: e.NameService, Domain: e.Domain, Port: e.Port,
			URL: u.base.String(), Source: "gateway", Status: st, Error: errText, InFlight: u.inFlight})
	}
	for _, inst := range insts {
		u := g.upstreamFor(inst.BaseURL())
		st, errText := u.status()
		if !inst.Routable() {
			st = string(inst.Status)
		}
		rows = append(rows, Row{NameService: inst.Service, Port: inst.Port, URL: u.base.String(),
			Source: "registry", Status: st, Error: errText, InFlight: u.inFlight})
	}
	return append(rows, remote...)
}

func (g *Gateway) handleList(w http.ResponseWriter, r *http.Request) {
	httpx.JSON(w, http.StatusOK, g.Rows(r.Context()))
}

func (g *Gateway) handleRefresh(w http.ResponseWriter, r *http.Request) {
	g.CheckAll(r.Context())
	httpx.JSON(w, http.StatusOK, g.Rows(r.Context()))
}
