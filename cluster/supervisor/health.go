package supervisor

import (
	"time"

	"github.com/replicaflow/replicaflow/registry"
)

// health is the check state of one instance: a small state machine fed
// with check results.
type health struct {
	status    registry.Status
	fails     int       // consecutive failures
	oks       int       // consecutive successes
	since     time.Time // when status last changed
	lastCheck time.Time
	lastError string
}

// observe records one check result at now and reports whether the status
// changed. An instance turns unhealthy after failures consecutive failed
// checks and healthy after successes consecutive passed ones; the first
// passed check of an unknown instance makes it healthy at once.
func (h *health) observe(ok bool, errText string, now time.Time, failures, successes int) bool {
	h.lastCheck = now
	prev := h.status
	if ok {
		h.fails, h.lastError = 0, ""
		h.oks++
		if h.status == registry.StatusUnknown || h.status == "" || h.oks >= successes {
			h.status = registry.StatusHealthy
		}
	} else {
		h.oks = 0
		h.fails++
		h.lastError = errText
		if h.fails >= failures {
			h.status = registry.StatusUnhealthy
		}
	}
	if h.status != prev {
		h.since = now
		return true
	}
	return false
}

// expired reports whether an unhealthy instance has been so for grace.
func (h *health) expired(now time.Time, grace time.Duration) bool {
	return h.status == registry.StatusUnhealthy && now.Sub(h.since) >= grace
}
