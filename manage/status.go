package manage

import (
	"github.com/replicaflow/replicaflow/scaling"
	"github.com/replicaflow/replicaflow/service"
)

// AppStatus is the answer of GET /: the app's version and state and every
// service's status by name.
type AppStatus struct {
	Version  string                   `json:"version"`
	State    string                   `json:"state"`
	Services map[string]ServiceStatus `json:"services"`
	// Remote lists instances in other processes (see Manager.SetRemote);
	// absent without remote discovery.
	Remote []RemoteInstance `json:"remote,omitzero"`
	// RemoteError says why the remote instances could not be listed.
	RemoteError string `json:"remote_error,omitempty"`
}

// ServiceStatus is the answer of GET /services/{name}.
type ServiceStatus struct {
	State        service.State `json:"state"`
	Error        *string       `json:"error"`
	Metadata     Metadata      `json:"metadata"`
	IsConfigured bool          `json:"is_configured"`
}

// Metadata is what a service's status says about it besides its state: its
// class (for a registered instance), the configuration last applied, its
// options and its replicas.
type Metadata struct {
	ServiceID string          `json:"service_id"`
	Class     string          `json:"class,omitempty"`
	Type      string          `json:"type,omitempty"`
	BaseRoute string          `json:"base_route"`
	Config    any             `json:"config"`
	Options   service.Options `json:"options"`
	Replicas  scaling.Status  `json:"replicas"`
}

// ServiceList is the answer of GET /services.
type ServiceList struct {
	Services []ServiceSummary `json:"services"`
	// Remote lists instances in other processes (see Manager.SetRemote);
	// absent without remote discovery.
	Remote []RemoteInstance `json:"remote,omitzero"`
	// RemoteError says why the remote instances could not be listed.
	RemoteError string `json:"remote_error,omitempty"`
}

// RemoteInstance is one service instance that serves in another process (a
// node of distributed mode), as the discovery given to Manager.SetRemote
// reports it.
type RemoteInstance struct {
	Node          string `json:"node"` // the process that serves it
	ID            string `json:"id"`   // that process's ID in discovery
	Service       string `json:"service"`
	BaseRoute     string `json:"base_route"`
	Subject       string `json:"subject"` // where it is reached
	State         string `json:"state"`
	Replicas      int    `json:"replicas"`      // running replicas
	Subscriptions int    `json:"subscriptions"` // subscriptions held, one per replica when all is well
	Capacity      int    `json:"capacity"`      // requests it can serve at once
	InFlight      int    `json:"in_flight"`
	Served        uint64 `json:"served"`
	Busy          uint64 `json:"busy"`    // requests refused because every slot was taken
	Dropped       uint64 `json:"dropped"` // requests lost before they were read
}

// ServiceSummary is one service in a ServiceList.
type ServiceSummary struct {
	Name         string        `json:"name"`
	State        service.State `json:"state"`
	IsConfigured bool          `json:"is_configured"`
	Error        *string       `json:"error"`
}

// Registration is the body of POST /services/register.
type Registration struct {
	ServiceName  string `json:"service_name" binding:"required"`
	InstanceName string `json:"instance_name"`
}

// RefuseUnknownFields marks Registration as requests.StrictJSON: a
// misspelt field is refused (422), and the OpenAPI document says so.
func (Registration) RefuseUnknownFields() {}

// Registered is the answer of POST /services/register.
type Registered struct {
	Status  string `json:"status"`
	Service string `json:"service"`
	Type    string `json:"type"`
}

// Result is the answer of the calls that act on one service:
// {"status": "started", "service": "counter"}.
type Result struct {
	Status  string `json:"status"`
	Service string `json:"service"`
}
