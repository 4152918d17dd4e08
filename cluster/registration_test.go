package cluster_test

import (
	"testing"

	"github.com/replicaflow/replicaflow/cluster"
)

func TestRegistrationInstance(t *testing.T) {
	tests := []struct {
		name string
		reg  cluster.Registration
		ok   bool
	}{
		{"picoapi", cluster.Registration{Name: "w", Host: "127.0.0.1", Port: 8888,
			HealthCheck: &cluster.HealthCheck{URL: "http://127.0.0.1:8888/health", Interval: 300}}, true},
		{"no name", cluster.Registration{Host: "h", Port: 1}, false},
		{"bad port", cluster.Registration{Name: "w", Host: "h", Port: 70000}, false},
		{"health elsewhere", cluster.Registration{Name: "w", Host: "127.0.0.1", Port: 8888,
			HealthCheck: &cluster.HealthCheck{URL: "http://169.254.169.254/latest", Interval: 1}}, false},
		{"negative interval", cluster.Registration{Name: "w", Host: "127.0.0.1", Port: 8888,
			HealthCheck: &cluster.HealthCheck{Interval: -1}}, false},
	}
	for _, tt := range tests {
		inst, err := tt.reg.Instance()
		if (err == nil) != tt.ok {
			t.Errorf("%s: err %v", tt.name, err)
		}
		if tt.ok && (inst.ID != "127.0.0.1:8888" || inst.HealthPath != "/health") {
			t.Errorf("%s: %+v", tt.name, inst)
		}
	}
}
