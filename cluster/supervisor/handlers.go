package supervisor

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/replicaflow/replicaflow/cluster"
	"github.com/replicaflow/replicaflow/cluster/internal/httpx"
	"github.com/replicaflow/replicaflow/internal/guard"
	"github.com/replicaflow/replicaflow/registry"
	"github.com/replicaflow/replicaflow/responses"
)

// routes mounts the API:
//
//	PUT|POST {register}                      register (PicoAPI payload)
//	DELETE   {register}/{name}/{id}          deregister
//	POST     {register}/{name}/{id}/renew    heartbeat; 404 when forgotten
//	GET      /services/status                every instance and its status
//	GET      /services/definition            the workers' OpenAPI, combined
//	GET      /health                         the supervisor's own health
//
// The first registration of an instance ID hands out the instance's
// secret (see cluster.SecretHeader); moving or removing the instance later
// needs it.
func (s *Supervisor) routes() {
	m := http.NewServeMux()
	p := s.opts.RegisterPath
	guard := func(h http.HandlerFunc) http.Handler { return guard.Protect(s.opts.Token, h) }
	m.Handle("PUT "+p, guard(s.handleRegister))
	m.Handle("POST "+p, guard(s.handleRegister))
	m.Handle("DELETE "+p+"/{name}/{id}", guard(s.handleDeregister))
	m.Handle("POST "+p+"/{name}/{id}/renew", guard(s.handleRenew))
	m.HandleFunc("GET /services/status", s.handleStatus)
	m.HandleFunc("GET /services/definition", s.handleDefinition)
	m.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		httpx.JSON(w, http.StatusOK, map[string]string{"status": "healthy"})
	})
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		responses.WriteProblem(w, r, responses.NewProblem(http.StatusNotFound, "no route for "+r.Method+" "+r.URL.Path, nil), nil)
	})
	s.mux = m
}

// Receipt is the answer to a registration.
type Receipt struct {
	// Service is the registered service name.
	Service string `json:"service"`
	// ID is the instance ID, part of the renew and deregister URLs.
	ID string `json:"id"`
	// Status is the instance's status (unknown until the first check).
	Status registry.Status `json:"status"`
	// Renew is the path of the heartbeat call.
	Renew string `json:"renew"`
	// Interval is the health-check interval applied, in seconds.
	Interval float64 `json:"interval"`
	// Secret proves the right to move or remove the instance: send it in
	// the cluster.SecretHeader header when registering again, renewing and
	// deregistering. It is given to the worker that first registers an
	// instance ID (and repeated to the holder); a registration that sent
	// no valid secret gets none.
	Secret string `json:"secret,omitempty"`
}

func (s *Supervisor) handleRegister(w http.ResponseWriter, r *http.Request) {
	var reg cluster.Registration
	if !httpx.Decode(w, r, &reg) {
		return
	}
	inst, err := reg.Instance()
	if err != nil {
		responses.WriteProblem(w, r, responses.NewProblem(http.StatusUnprocessableEntity, err.Error(), nil), nil)
		return
	}
	got, err := s.register(r.Context(), inst, r.Header.Get(cluster.SecretHeader))
	switch {
	case errors.Is(err, errNotOwner):
		s.refused(r, "register", inst.Service, inst.ID)
		responses.WriteProblem(w, r, responses.NewProblem(http.StatusConflict, "instance "+inst.ID+" of "+inst.Service+
			" is registered by another worker; without its secret it cannot be moved to another address or health check", nil), nil)
		return
	case err != nil:
		responses.WriteProblem(w, r, responses.NewProblem(http.StatusServiceUnavailable, "registry unavailable: "+err.Error(), nil), nil)
		return
	}
	status := http.StatusOK
	if got.created {
		status = http.StatusCreated
	}
	httpx.JSON(w, status, Receipt{
		Service: inst.Service, ID: inst.ID, Status: registry.StatusUnknown,
		Renew:    s.opts.RegisterPath + "/" + inst.Service + "/" + inst.ID + "/renew",
		Interval: s.interval(inst).Seconds(),
		Secret:   got.secret,
	})
}

func (s *Supervisor) handleDeregister(w http.ResponseWriter, r *http.Request) {
	name, id := r.PathValue("name"), r.PathValue("id")
	err := s.deregister(r.Context(), name, id, r.Header.Get(cluster.SecretHeader))
	switch {
	case errors.Is(err, registry.ErrNotFound):
		responses.WriteProblem(w, r, responses.NewProblem(http.StatusNotFound, "no instance "+id+" of "+name, nil), nil)
	case errors.Is(err, errNotOwner):
		s.refused(r, "deregister", name, id)
		responses.WriteProblem(w, r, responses.NewProblem(http.StatusConflict, "instance "+id+" of "+name+
			" is registered by another worker; only its secret can remove it", nil), nil)
	case err != nil:
		responses.WriteProblem(w, r, responses.NewProblem(http.StatusServiceUnavailable, "registry unavailable: "+err.Error(), nil), nil)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// handleRenew answers a heartbeat. A renewal with a secret that does not
// match the entry's owner is refused, so a worker learns that its instance
// ID now belongs to another registration; one without a secret only asks
// whether the entry is still there.
func (s *Supervisor) handleRenew(w http.ResponseWriter, r *http.Request) {
	name, id := r.PathValue("name"), r.PathValue("id")
	inst, err := s.opts.Registry.Get(r.Context(), name, id)
	if err != nil {
		if errors.Is(err, registry.ErrNotFound) || errors.Is(err, registry.ErrSealed) || errors.Is(err, registry.ErrStale) {
			responses.WriteProblem(w, r, responses.NewProblem(http.StatusNotFound, "no instance "+id+" of "+name+"; register again", nil), nil)
			return
		}
		responses.WriteProblem(w, r, responses.NewProblem(http.StatusServiceUnavailable, "registry unavailable: "+err.Error(), nil), nil)
		return
	}
	if secret := r.Header.Get(cluster.SecretHeader); secret != "" && inst.Owner != "" && !ownedBy(inst, secret) {
		s.refused(r, "renew", name, id)
		responses.WriteProblem(w, r, responses.NewProblem(http.StatusConflict, "instance "+id+" of "+name+" now belongs to another registration", nil), nil)
		return
	}
	if !s.tracked(name + "/" + id) { // registered through another supervisor
		s.track(inst)
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"service": name, "id": id, "status": inst.Status})
}

// InstanceStatus is one row of GET /services/status.
type InstanceStatus struct {
	Name                string            `json:"name"`
	ID                  string            `json:"id"`
	Status              registry.Status   `json:"status"`
	URL                 string            `json:"url"`
	Host                string            `json:"host"`
	Port                int               `json:"port"`
	Version             string            `json:"version,omitempty"`
	Tags                []string          `json:"tags,omitempty"`
	HealthURL           string            `json:"health_url,omitempty"`
	Interval            float64           `json:"interval"`
	ConsecutiveFailures int               `json:"consecutive_failures"`
	LastCheck           *time.Time        `json:"last_check,omitempty"`
	LastError           string            `json:"last_error,omitempty"`
	RegisteredAt        time.Time         `json:"registered_at"`
	Metadata            map[string]string `json:"metadata,omitempty"`
}

// Status lists every instance with its health, sorted by name and ID.
func (s *Supervisor) Status(ctx context.Context) ([]InstanceStatus, error) {
	list, err := s.opts.Registry.Find(ctx, "")
	if err != nil {
		return nil, err
	}
	out := make([]InstanceStatus, 0, len(list))
	for _, inst := range list {
		row := InstanceStatus{
			Name: inst.Service, ID: inst.ID, Status: inst.Status, URL: inst.BaseURL(),
			Host: inst.Host, Port: inst.Port, Version: inst.Version, Tags: inst.Tags,
			HealthURL: inst.HealthURL(), Interval: s.interval(inst).Seconds(),
			RegisteredAt: inst.RegisteredAt, Metadata: inst.Metadata,
		}
		if h, ok := s.snapshot(inst.Service + "/" + inst.ID); ok {
			row.Status = h.status
			row.ConsecutiveFailures = h.fails
			row.LastError = h.lastError
			if !h.lastCheck.IsZero() {
				lc := h.lastCheck
				row.LastCheck = &lc
			}
		}
		out = append(out, row)
	}
	return out, nil
}

func (s *Supervisor) handleStatus(w http.ResponseWriter, r *http.Request) {
	rows, err := s.Status(r.Context())
	if err != nil {
		responses.WriteProblem(w, r, responses.NewProblem(http.StatusServiceUnavailable, "registry unavailable: "+err.Error(), nil), nil)
		return
	}
	httpx.JSON(w, http.StatusOK, rows)
}
