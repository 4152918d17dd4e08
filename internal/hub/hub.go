// Package hub is the wiring between a flow and its services that users
// never see: package service registers how a service is attached, and the
// flow calls it, so neither needs an exported method for the other.
package hub

import (
	"log/slog"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/scaling"
)

// Attachment is what a flow gives a service when it attaches it.
type Attachment struct {
	Middleware []gin.HandlerFunc // the flow's chain, run before the service's own
	CPUs       *scaling.CPUs     // capacity replicas reserve from (nil: none)
	Changed    func()            // called when the service's endpoints change
	Logger     *slog.Logger      // the flow's logger; the service filters at its own level
}

// AttachService is set by package service's init: it attaches svc (a
// *service.Service). Attaching again replaces the previous attachment.
var AttachService func(svc any, a Attachment)
