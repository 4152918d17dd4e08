package manage

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/replicaflow/replicaflow/responses"
	"github.com/replicaflow/replicaflow/service"
)

// TokenEnv is the environment variable that holds the management token when
// Options.Token is empty.
const TokenEnv = "REPLICAFLOW_ADMIN_TOKEN"

// DefaultPrefix is where the management API is mounted unless Options.Prefix
// says otherwise.
const DefaultPrefix = "/admin"

// Host is what the Manager manages: an app's services. Package flow
// implements it. AddService returns the error that the flow's AddService
// would panic with; RemoveService returns an error for a name the host does
// not have. Version and State are what GET / reports: the app's version
// (its OpenAPI version, "" for "0.0.0") and its state ("running",
// "stopped", ...).
type Host interface {
	AddService(svc *service.Service) error
	RemoveService(ctx context.Context, name string) error
	Lookup(name string) *service.Service
	Services() []*service.Service
	Version() string
	State() string
}

// Options configure a Manager.
type Options struct {
	// Prefix is the path the API is mounted under. Default "/admin".
	Prefix string
	// Disabled turns the API off: the flow mounts nothing.
	Disabled bool
	// Token is the bearer token every call needs; empty reads
	// REPLICAFLOW_ADMIN_TOKEN, and with neither only loopback clients are
	// served.
	Token string
	// Classes are the classes POST /services/register can make instances
	// of. Default DefaultClasses.
	Classes *Classes
	// Timeout bounds a start or stop (a stop waits for the requests in
	// flight). Default 30s. A call does not end when its client leaves.
	Timeout time.Duration
}

// Manager runs the management API over a Host.
type Manager struct {
	host    Host
	opts    Options
	token   string
	handler http.Handler

	regMu sync.Mutex // serializes register and deregister

	remote atomic.Pointer[func(context.Context) ([]RemoteInstance, error)]

	mu      sync.Mutex
	classOf map[*service.Service]Class // instances made from a class
}

// New returns a Manager of host. It panics when the prefix is "/" (the
// API would shadow every service).
func New(host Host, o Options) *Manager {
	if host == nil {
		panic("replicaflow: manage.New: nil host")
	}
	if o.Prefix != "" && strings.Trim(o.Prefix, "/") == "" {
		panic("replicaflow: manage: the prefix must not be \"/\": the API would shadow every service")
	}
	o.Prefix = strings.TrimRight(o.Prefix, "/")
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if !strings.HasPrefix(o.Prefix, "/") {
		o.Prefix = "/" + o.Prefix
	}
	if o.Classes == nil {
		o.Classes = DefaultClasses
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	m := &Manager{host: host, opts: o, token: o.Token, classOf: map[*service.Service]Class{}}
	if m.token == "" {
		m.token = os.Getenv(TokenEnv)
	}
	m.handler = m.newHandler()
	return m
}

// Prefix returns the path the API is served under.
func (m *Manager) Prefix() string { return m.opts.Prefix }

// Enabled reports whether the API should be mounted (Options.Disabled is
// false).
func (m *Manager) Enabled() bool { return !m.opts.Disabled }

// Token returns the bearer token the API requires: Options.Token, else
// REPLICAFLOW_ADMIN_TOKEN as it was when the Manager was made; "" means
// loopback clients only. Pages that call the API (the dashboard) protect
// themselves with it.
func (m *Manager) Token() string { return m.token }

// SetRemote adds discovery of the service instances that serve in other
// processes (distributed mode's nodes): GET / and GET /services report
// what list returns under "remote", and a listing that fails under
// "remote_error", beside the local services. A later call replaces list;
// nil removes it.
func (m *Manager) SetRemote(list func(ctx context.Context) ([]RemoteInstance, error)) {
	if list == nil {
		m.remote.Store(nil)
		return
	}
	m.remote.Store(&list)
}

// Remote lists the remote instances through the function SetRemote gave
// (nil, nil without one).
func (m *Manager) Remote(ctx context.Context) ([]RemoteInstance, error) {
	list := m.remote.Load()
	if list == nil {
		return nil, nil
	}
	return (*list)(ctx)
}

// Handler returns the API as an http.Handler that expects the full path
// (prefix included), protected by the token or the loopback rule.
func (m *Manager) Handler() http.Handler { return m.handler }

// Classes returns the classes the manager makes instances of.
func (m *Manager) Classes() *Classes { return m.opts.Classes }

// Register makes an instance of the named class, called instance (default:
// the class name, else the class name with the first free "_n" suffix),
// and adds it to the host, which serves its routes at once. An autostart
// class's instance is started, unless it waits for its configuration. Errors:
// 404 for an unknown class, 409 for a taken name or base route, 422 for a
// malformed name.
func (m *Manager) Register(ctx context.Context, class, instance string) (*service.Service, error) {
	c, ok := m.opts.Classes.Lookup(class)
	if !ok {
		return nil, responses.Errorf(http.StatusNotFound, "no service class %q (known: %s)", class, strings.Join(m.opts.Classes.Names(), ", "))
	}
	m.regMu.Lock()
	defer m.regMu.Unlock()
	if instance == "" {
		instance = m.freeName(class)
	}
	if instance == "register" {
		return nil, responses.Error(http.StatusUnprocessableEntity, `instance name "register" is reserved`)
	}
	route := strings.ReplaceAll(c.Route, "{instance_name}", instance)
	if err := service.New(service.Name(instance), service.BaseRoute(route)).Options().Check(); err != nil {
		return nil, responses.Errorf(http.StatusUnprocessableEntity, "instance %q: %v", instance, err)
	}
	if m.host.Lookup(instance) != nil {
		return nil, responses.Errorf(http.StatusConflict, "a service named %q already exists", instance)
	}
	svc, err := construct(c, instance, route)
	if err != nil {
		return nil, err
	}
	if err := m.host.AddService(svc); err != nil {
		return nil, responses.Errorf(http.StatusConflict, "%v", err)
	}
	m.mu.Lock()
	m.classOf[svc] = c
	m.mu.Unlock()
	if c.Autostart && !svc.Options().RequireConfig {
		if err := m.start(ctx, svc); err != nil {
			return svc, err
		}
	}
	return svc, nil
}

// construct calls the class's constructor and checks that it honoured the
// instance's options.
func construct(c Class, instance, route string) (svc *service.Service, err error) {
	defer func() {
		if r := recover(); r != nil {
			svc, err = nil, responses.Errorf(http.StatusInternalServerError, "class %q: constructor panicked: %v", c.Name, r)
		}
	}()
	svc = c.New(instance, service.Name(instance), service.BaseRoute(route), service.ManualStart())
	switch {
	case svc == nil:
		return nil, responses.Errorf(http.StatusInternalServerError, "class %q: constructor returned nil", c.Name)
	case svc.Name() != instance || !svc.Options().ManualStart:
		return nil, responses.Errorf(http.StatusInternalServerError, "class %q: constructor must pass the options it is given to service.New, after its own", c.Name)
	}
	if err := svc.Options().Check(); err != nil {
		return nil, responses.Errorf(http.StatusInternalServerError, "class %q makes an invalid service: %v", c.Name, err)
	}
	return svc, nil
}

// freeName returns class if no service has that name, else class_n for the
// least n that is free.
func (m *Manager) freeName(class string) string {
	if m.host.Lookup(class) == nil {
		return class
	}
	for n := 1; ; n++ {
		name := class + "_" + strconv.Itoa(n)
		if m.host.Lookup(name) == nil {
			return name
		}
	}
}

// Deregister removes the named service from the host (its routes go at
// once) and stops it, waiting for its requests in flight. It returns a 404
// error for an unknown name, and the stop's error when the stop failed
// (the service is removed all the same).
func (m *Manager) Deregister(ctx context.Context, name string) error {
	m.regMu.Lock()
	defer m.regMu.Unlock()
	svc := m.host.Lookup(name)
	if svc == nil {
		return responses.Errorf(http.StatusNotFound, "no service named %q", name)
	}
	ctx, cancel := m.bound(ctx)
	defer cancel()
	err := m.host.RemoveService(ctx, name)
	m.mu.Lock()
	delete(m.classOf, svc)
	m.mu.Unlock()
	if err != nil {
		return failed(fmt.Sprintf("service %q was removed, but its stop failed", name), err)
	}
	return nil
}

// Lookup returns the named service, or a 404 error.
func (m *Manager) Lookup(name string) (*service.Service, error) {
	if svc := m.host.Lookup(name); svc != nil {
		return svc, nil
	}
	return nil, responses.Errorf(http.StatusNotFound, "no service named %q", name)
}

// Start starts the named service: 404 for an unknown name, 409 when it is
// running or must be configured first, 500 when its start failed (it is
// then in the error state).
func (m *Manager) Start(ctx context.Context, name string) error {
	svc, err := m.Lookup(name)
	if err != nil {
		return err
	}
	return m.start(ctx, svc)
}

func (m *Manager) start(ctx context.Context, svc *service.Service) error {
	ctx, cancel := m.bound(ctx)
	defer cancel()
	if err := svc.Start(ctx); err != nil {
		return failed(fmt.Sprintf("service %q failed to start", svc.Name()), err)
	}
	return nil
}

// Stop stops the named service: its endpoints answer 503 once it is
// stopping, and the requests in flight finish. 404 for an unknown name,
// 409 when it is not running, 500 when the stop failed (it is then in the
// error state): a failed stop is never reported as a stop.
func (m *Manager) Stop(ctx context.Context, name string) error {
	svc, err := m.Lookup(name)
	if err != nil {
		return err
	}
	ctx, cancel := m.bound(ctx)
	defer cancel()
	if err := svc.Stop(ctx); err != nil {
		return failed(fmt.Sprintf("service %q failed to stop", name), err)
	}
	return nil
}

// Configure applies data, a JSON object, as the named service's
// configuration: 404 for an unknown name, 400 for malformed JSON, 422 for a
// configuration that does not validate. An instance of an autostart class
// that waited for its configuration is started then.
func (m *Manager) Configure(ctx context.Context, name string, data []byte) error {
	svc, err := m.Lookup(name)
	if err != nil {
		return err
	}
	if err := svc.Configure(ctx, data); err != nil {
		return err
	}
	m.mu.Lock()
	c, ok := m.classOf[svc]
	m.mu.Unlock()
	if ok && c.Autostart && svc.State() == service.Configured {
		return m.start(ctx, svc)
	}
	return nil
}

// ConfigureAndStart configures the named service, then starts it. A running
// service is refused with 409 before its configuration is touched.
func (m *Manager) ConfigureAndStart(ctx context.Context, name string, data []byte) error {
	svc, err := m.Lookup(name)
	if err != nil {
		return err
	}
	if st := svc.State(); st == service.Running {
		return &service.TransitionError{Service: name, From: st, Action: "configure and start"}
	}
	if err := svc.Configure(ctx, data); err != nil {
		return err
	}
	return m.start(ctx, svc)
}

// Status returns the named service's status, or a 404 error.
func (m *Manager) Status(name string) (ServiceStatus, error) {
	svc, err := m.Lookup(name)
	if err != nil {
		return ServiceStatus{}, err
	}
	return m.status(svc), nil
}

func (m *Manager) status(svc *service.Service) ServiceStatus {
	st := svc.Status()
	m.mu.Lock()
	c := m.classOf[svc]
	m.mu.Unlock()
	out := ServiceStatus{
		State:        st.State,
		IsConfigured: st.IsConfigured,
		Metadata: Metadata{
			ServiceID: st.ID,
			Class:     c.Name,
			Type:      c.Type,
			BaseRoute: svc.BaseRoute(),
			Config:    svc.Config(),
			Options:   svc.Options(),
			Replicas:  st.Replicas,
		},
	}
	if st.Error != "" {
		out.Error = &st.Error
	}
	return out
}

// App returns the answer of GET /.
func (m *Manager) App() AppStatus {
	version := m.host.Version()
	if version == "" {
		version = "0.0.0"
	}
	app := AppStatus{Version: version, State: m.host.State(), Services: map[string]ServiceStatus{}}
	for _, svc := range m.host.Services() {
		app.Services[svc.Name()] = m.status(svc)
	}
	return app
}

// List returns the answer of GET /services, in the order the services were
// added.
func (m *Manager) List() ServiceList {
	list := ServiceList{Services: []ServiceSummary{}}
	for _, svc := range m.host.Services() {
		st := svc.Status()
		s := ServiceSummary{Name: st.Name, State: st.State, IsConfigured: st.IsConfigured}
		if st.Error != "" {
			s.Error = &st.Error
		}
		list.Services = append(list.Services, s)
	}
	return list
}

// bound gives a lifecycle call its own deadline, detached from the client:
// a client that leaves does not cut a stop short.
func (m *Manager) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), m.opts.Timeout)
}

// failed keeps an error that already has an HTTP status (a 409 transition
// error) and makes any other a 500 that says what failed.
func failed(what string, err error) error {
	if _, _, internal := responses.ProblemFor(err); !internal {
		return err
	}
	return responses.Errorf(http.StatusInternalServerError, "%s: %v", what, err)
}
