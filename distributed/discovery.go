package distributed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

// Instance is one exported service on one worker node, as $SRV.STATS
// reports it.
type Instance struct {
	// Node and ID name the worker process (ID is its micro service ID).
	Node string `json:"node"`
	ID   string `json:"id"`
	ExportStatus
}

// DefaultDiscoveryWait is how long Instances collects answers when ctx has
// no earlier deadline.
const DefaultDiscoveryWait = 250 * time.Millisecond

// Instances asks every worker of a flow for its stats ($SRV.STATS of the
// flow's micro service) and returns one Instance per node and exported
// service, sorted by service then node. It collects answers until ctx
// ends, or for DefaultDiscoveryWait when ctx has no deadline.
func Instances(ctx context.Context, nc *nats.Conn, prefix, flow string) ([]Instance, error) {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if flow == "" {
		flow = DefaultFlow
	}
	if err := checkNames(prefix, flow); err != nil {
		return nil, fmt.Errorf("replicaflow: distributed: %w", err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultDiscoveryWait)
		defer cancel()
	}
	subject, err := micro.ControlSubject(micro.StatsVerb, microName(prefix, flow), "")
	if err != nil {
		return nil, err
	}
	inbox := nc.NewRespInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return nil, err
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := nc.PublishRequest(subject, inbox, nil); err != nil {
		return nil, err
	}
	out := []Instance{}
	for {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				break
			}
			return out, err
		}
		var st micro.Stats
		if json.Unmarshal(m.Data, &st) != nil || st.Type != micro.StatsResponseType {
			continue
		}
		for _, ep := range st.Endpoints {
			var es ExportStatus
			if len(ep.Data) == 0 || json.Unmarshal(ep.Data, &es) != nil || es.Service == "" {
				continue
			}
			out = append(out, Instance{Node: st.Metadata["node"], ID: st.ID, ExportStatus: es})
		}
	}
	slices.SortFunc(out, func(a, b Instance) int {
		if c := strings.Compare(a.Service, b.Service); c != 0 {
			return c
		}
		return strings.Compare(a.Node, b.Node)
	})
	return out, nil
}

// Instances returns the remote instances of the ingress's flow; see the
// package function Instances.
func (in *Ingress) Instances(ctx context.Context) ([]Instance, error) {
	return Instances(ctx, in.nc, in.opts.Prefix, in.opts.Flow)
}
