package manage

import (
	"fmt"
	"regexp"
	"slices"
	"sync"

	"github.com/replicaflow/replicaflow/service"
)

// Constructor makes an instance of a service class. It must pass opts to
// service.New after its own options: they set the instance's name, its base
// route and ManualStart (the Manager starts the instance itself).
type Constructor func(name string, opts ...service.Option) *service.Service

// Class is a named kind of service that the management API can make
// instances of.
type Class struct {
	// Name is what POST /services/register's service_name refers to.
	Name string
	// Type is the class's display name, the "type" of the register answer
	// (ProcessPype's class name, like "CounterService"). Default Name.
	Type string
	// Route is the base route of an instance; "{instance_name}" in it is
	// replaced by the instance's name. Default "/{instance_name}".
	Route string
	// Autostart starts an instance as soon as it is registered, or, when
	// it requires configuration, as soon as it is configured. Default off
	// (ProcessPype's autostart=false).
	Autostart bool
	// New makes an instance.
	New Constructor
}

// ClassOption sets one of a class's optional fields.
type ClassOption func(*Class)

// Route sets the base route of the class's instances; "{instance_name}" in
// pattern is replaced by the instance's name.
func Route(pattern string) ClassOption { return func(c *Class) { c.Route = pattern } }

// Autostart starts the class's instances once registered (or once
// configured, when they require configuration).
func Autostart() ClassOption { return func(c *Class) { c.Autostart = true } }

// TypeName sets the class's display name, reported as "type" when an
// instance is registered.
func TypeName(name string) ClassOption { return func(c *Class) { c.Type = name } }

// Classes is a set of service classes, safe for concurrent use.
type Classes struct {
	mu sync.RWMutex
	m  map[string]Class
}

// NewClasses returns an empty set of classes.
func NewClasses() *Classes { return &Classes{m: map[string]Class{}} }

// DefaultClasses is the set RegisterClass adds to and a Manager uses unless
// its Options name another.
var DefaultClasses = NewClasses()

// RegisterClass adds a class to DefaultClasses (ProcessPype's
// @register_service_class); call it from an init function or main. It
// panics like Classes.Register.
func RegisterClass(name string, fn Constructor, opts ...ClassOption) {
	DefaultClasses.Register(name, fn, opts...)
}

var classNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// Register adds a class. It panics when the name is malformed or taken or fn
// is nil: those are programming errors.
func (cs *Classes) Register(name string, fn Constructor, opts ...ClassOption) {
	if !classNameRE.MatchString(name) {
		panic(fmt.Sprintf("replicaflow: manage: class name %q must be letters, digits, '-', '_' or '.'", name))
	}
	if fn == nil {
		panic(fmt.Sprintf("replicaflow: manage: class %q has a nil constructor", name))
	}
	c := Class{Name: name, New: fn}
	for _, o := range opts {
		o(&c)
	}
	if c.Type == "" {
		c.Type = name
	}
	if c.Route == "" {
		c.Route = "/{instance_name}"
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if _, ok := cs.m[name]; ok {
		panic(fmt.Sprintf("replicaflow: manage: class %q is already registered", name))
	}
	cs.m[name] = c
}

// Lookup returns the class with the given name.
func (cs *Classes) Lookup(name string) (Class, bool) {
	cs.mu.RLock()
	defer cs.mu.RUnlock()
	c, ok := cs.m[name]
	return c, ok
}

// Names returns the names of the classes, sorted.
func (cs *Classes) Names() []string {
	cs.mu.RLock()
	defer cs.mu.RUnlock()
	names := make([]string, 0, len(cs.m))
	for n := range cs.m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
