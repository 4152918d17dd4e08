package distributed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/replicaflow/replicaflow/service"
)

// Source is what an Exporter exports services from; a *flow.Flow is one.
type Source interface {
	Services() []*service.Service
}

// ExporterOptions configures an Exporter. Zero values take the defaults.
type ExporterOptions struct {
	// Prefix is the first token(s) of every subject (default DefaultPrefix).
	// Give each test or tenant its own.
	Prefix string
	// Flow is the flow's name, one subject token (default DefaultFlow).
	Flow string
	// Services lists the names of the services to export; empty exports
	// every service of the source, including ones added later.
	Services []string
	// Node names this process in discovery (default host name and PID).
	Node string
	// Version is the micro service's version, MAJOR.MINOR.PATCH (default,
	// and used for anything else, "0.0.0").
	Version string
	// Interval is how often the subscriptions follow the replica pools
	// (default 50ms).
	Interval time.Duration
	// PendingMsgs and PendingBytes bound what one subscription buffers
	// (default 65536 messages, 64 MiB). The callback never blocks, so the
	// bound is reached only when the process cannot even answer "busy".
	PendingMsgs, PendingBytes int
	// Logger receives slow-consumer and reply errors; default
	// slog.Default().
	Logger *slog.Logger
}

// Queue is the queue group every data subscription joins.
const Queue = "replicaflow"

// Exporter exports a source's services on NATS. Make one with NewExporter; it
// follows the services and their replica pools until Shutdown.
type Exporter struct {
	nc    *nats.Conn
	src   Source
	opts  ExporterOptions
	micro micro.Service

	mu       sync.Mutex
	exports  map[string]*export
	draining []*nats.Subscription

	handlers sync.WaitGroup // requests being served
	closing  atomic.Bool
	stop     chan struct{}
	watching sync.WaitGroup
}

// NewExporter registers the source's services on nc and starts following
// their replica pools. It returns an error for a bad prefix, flow name or
// version, or when NATS refuses the subscriptions.
func NewExporter(nc *nats.Conn, src Source, opts ExporterOptions) (*Exporter, error) {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.Flow == "" {
		opts.Flow = DefaultFlow
	}
	if err := checkNames(opts.Prefix, opts.Flow); err != nil {
		return nil, fmt.Errorf("replicaflow: distributed: %w", err)
	}
	if opts.Node == "" {
		host, _ := os.Hostname()
		opts.Node = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if !semverRE.MatchString(opts.Version) {
		opts.Version = "0.0.0" // micro wants SemVer; a flow's version may be "1.0"
	}
	if opts.Interval <= 0 {
		opts.Interval = 50 * time.Millisecond
	}
	if opts.PendingMsgs <= 0 {
		opts.PendingMsgs = 1 << 16
	}
	if opts.PendingBytes <= 0 {
		opts.PendingBytes = 64 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	w := &Exporter{nc: nc, src: src, opts: opts, exports: map[string]*export{}, stop: make(chan struct{})}
	// Set before the micro service is added, which chains to it.
	prev := nc.ErrorHandler()
	nc.SetErrorHandler(func(c *nats.Conn, sub *nats.Subscription, err error) {
		if !w.asyncError(sub, err) && prev != nil {
			prev(c, sub, err)
		}
	})
	ms, err := micro.AddService(nc, micro.Config{
		Name:         microName(opts.Prefix, opts.Flow),
		Version:      opts.Version,
		Description:  "replicaflow flow " + opts.Flow,
		Metadata:     map[string]string{"flow": opts.Flow, "node": opts.Node, "prefix": opts.Prefix},
		StatsHandler: w.endpointStats,
		ErrorHandler: func(_ micro.Service, e *micro.NATSError) {
			opts.Logger.Warn("distributed: micro service error", "subject", e.Subject, "error", e.Description)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("replicaflow: distributed: %w", err)
	}
	w.micro = ms
	if err := w.sync(); err != nil {
		_ = w.micro.Stop()
		w.unsubscribeAll()
		return nil, err
	}
	w.watching.Add(1)
	go w.watch()
	return w, nil
}

// export is one service on NATS: its subscriptions (one per running
// replica) and its slots.
type export struct {
	w       *Exporter
	svc     *service.Service
	subject string
	subs    []*nats.Subscription

	capacity atomic.Int64 // running replicas × max concurrent queries
	inFlight atomic.Int64
	running  atomic.Int64
	served   atomic.Uint64
	busy     atomic.Uint64
	dropped  atomic.Uint64
}

// watch follows the services and their pools until Shutdown.
func (w *Exporter) watch() {
	defer w.watching.Done()
	t := time.NewTicker(w.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			if err := w.sync(); err != nil {
				w.opts.Logger.Warn("distributed: following the replica pools", "error", err)
			}
		}
	}
}

// sync brings every export's subscriptions and slots in line with its
// service's running replicas.
func (w *Exporter) sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closing.Load() {
		return nil
	}
	seen := map[string]bool{}
	var errs []error
	for _, svc := range w.src.Services() {
		name := svc.Name()
		if len(w.opts.Services) > 0 && !slices.Contains(w.opts.Services, name) {
			continue
		}
		seen[name] = true
		e := w.exports[name]
		if e == nil || e.svc != svc {
			if e != nil { // replaced by a service of the same name
				w.resize(e, 0, 0)
			}
			var err error
			if e, err = w.addExport(svc); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		subs, capacity := 0, 0
		running := 0
		if svc.State() == service.Running {
			running = svc.Status().Replicas.Running
			subs = max(1, running) // one to let a pool at zero scale up
			capacity = subs * svc.Options().MaxConcurrentQueries
		}
		e.running.Store(int64(running))
		if err := w.resize(e, subs, capacity); err != nil {
			errs = append(errs, err)
		}
	}
	for name, e := range w.exports {
		if !seen[name] {
			_ = w.resize(e, 0, 0)
			e.running.Store(0)
		}
	}
	return errors.Join(errs...)
}

// addExport makes the export of svc and its status endpoint in the micro
// service (for $SRV.INFO and $SRV.STATS). w.mu is held.
func (w *Exporter) addExport(svc *service.Service) (*export, error) {
	subject := Subject(w.opts.Prefix, w.opts.Flow, svc.Name())
	e := &export{w: w, svc: svc, subject: subject}
	if _, known := w.exports[svc.Name()]; !known {
		err := w.micro.AddEndpoint(endpointName(svc.Name()), micro.HandlerFunc(w.status(svc.Name())),
			micro.WithEndpointSubject(statusSubject(subject)),
			micro.WithEndpointQueueGroupDisabled(),
			micro.WithEndpointMetadata(map[string]string{
				"service": svc.Name(), "base_route": svc.BaseRoute(), "subject": subject, "queue_group": Queue,
			}))
		if err != nil {
			return nil, fmt.Errorf("replicaflow: distributed: status endpoint of %s: %w", svc, err)
		}
	}
	w.exports[svc.Name()] = e
	return e, nil
}

var semverRE = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$`)

var endpointNameRE = regexp.MustCompile(`[^A-Za-z0-9_-]`)

// endpointName is a service name as a micro endpoint name (no dots).
func endpointName(name string) string { return endpointNameRE.ReplaceAllString(name, "_") }

// statusSubject is where a node answers the status of one of its exports
// (every node answers: no queue group).
func statusSubject(subject string) string { return "_rf." + subject }

// subscribeFlush bounds the wait for the server to confirm new
// subscriptions.
const subscribeFlush = 2 * time.Second

// resize sets an export's slots and number of subscriptions; a
// subscription that goes is drained, so the messages it holds are still
// answered. w.mu is held.
func (w *Exporter) resize(e *export, subs, capacity int) error {
	e.capacity.Store(int64(capacity))
	added := len(e.subs) < subs
	for len(e.subs) < subs {
		sub, err := w.nc.QueueSubscribe(e.subject, Queue, e.receive)
		if err != nil {
			return fmt.Errorf("replicaflow: distributed: subscribe %s: %w", e.subject, err)
		}
		if err := sub.SetPendingLimits(w.opts.PendingMsgs, w.opts.PendingBytes); err != nil {
			_ = sub.Unsubscribe()
			return err
		}
		e.subs = append(e.subs, sub)
	}
	if added {
		// A subscription counts once the server has it: until then a
		// request finds no responders, though Exports says it is served.
		if err := w.nc.FlushTimeout(subscribeFlush); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			w.opts.Logger.Warn("distributed: the server has not confirmed a subscription yet", "subject", e.subject, "error", err)
		}
	}
	for len(e.subs) > subs {
		sub := e.subs[len(e.subs)-1]
		e.subs = e.subs[:len(e.subs)-1]
		if err := sub.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			w.opts.Logger.Warn("distributed: draining a subscription", "subject", e.subject, "error", err)
		}
		w.draining = append(w.draining, sub)
	}
	w.draining = slices.DeleteFunc(w.draining, func(s *nats.Subscription) bool { return !s.IsValid() })
	return nil
}

// receive admits a message to a free slot, or answers busy at once. It
// never blocks, so the subscription's buffer stays small.
func (e *export) receive(m *nats.Msg) {
	if m.Reply == "" {
		return
	}
	for {
		n := e.inFlight.Load()
		if n >= e.capacity.Load() {
			e.busy.Add(1)
			e.w.reply(m.Reply, nats.Header{StatusHeader: []string{Busy}}, nil)
			return
		}
		if e.inFlight.CompareAndSwap(n, n+1) {
			break
		}
	}
	e.w.handlers.Add(1)
	go func() {
		defer e.w.handlers.Done()
		defer e.inFlight.Add(-1)
		e.serve(m)
		e.served.Add(1)
	}()
}

// reply publishes an answer; a failure is logged (the requester times
// out).
func (w *Exporter) reply(subject string, h nats.Header, body []byte) {
	if err := w.nc.PublishMsg(&nats.Msg{Subject: subject, Header: h, Data: body}); err != nil {
		w.opts.Logger.Warn("distributed: reply failed", "error", err)
	}
}

// asyncError counts slow-consumer drops on the worker's subscriptions.
// With a callback that never blocks they mean the process is starved.
func (w *Exporter) asyncError(sub *nats.Subscription, err error) bool {
	if sub == nil || !errors.Is(err, nats.ErrSlowConsumer) {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range w.exports {
		if slices.Contains(e.subs, sub) || e.subject == sub.Subject {
			n, _ := sub.Dropped()
			e.dropped.Store(uint64(max(n, 0)))
			w.opts.Logger.Error("distributed: slow consumer dropped messages", "subject", e.subject, "dropped", n)
			return true
		}
	}
	return false
}

// ExportStatus is the state of one exported service on this node, as
// $SRV.STATS reports it (in each endpoint's data) and Exports returns it.
type ExportStatus struct {
	Service       string `json:"service"`
	BaseRoute     string `json:"base_route"`
	Subject       string `json:"subject"`
	State         string `json:"state"`
	Replicas      int    `json:"replicas"`      // running replicas
	Subscriptions int    `json:"subscriptions"` // queue subscriptions held
	Capacity      int    `json:"capacity"`      // slots
	InFlight      int    `json:"in_flight"`
	Served        uint64 `json:"served"`
	Busy          uint64 `json:"busy"`    // messages answered busy
	Dropped       uint64 `json:"dropped"` // slow-consumer drops
}

func (e *export) status() ExportStatus {
	e.w.mu.Lock()
	subs := len(e.subs)
	e.w.mu.Unlock()
	return ExportStatus{
		Service: e.svc.Name(), BaseRoute: e.svc.BaseRoute(), Subject: e.subject, State: string(e.svc.State()),
		Replicas: int(e.running.Load()), Subscriptions: subs, Capacity: int(e.capacity.Load()),
		InFlight: int(e.inFlight.Load()), Served: e.served.Load(), Busy: e.busy.Load(), Dropped: e.dropped.Load(),
	}
}

// Exports returns the state of every exported service on this node.
func (w *Exporter) Exports() []ExportStatus {
	w.mu.Lock()
	list := make([]*export, 0, len(w.exports))
	for _, e := range w.exports {
		list = append(list, e)
	}
	w.mu.Unlock()
	out := make([]ExportStatus, 0, len(list))
	for _, e := range list {
		out = append(out, e.status())
	}
	slices.SortFunc(out, func(a, b ExportStatus) int { return strings.Compare(a.Service, b.Service) })
	return out
}

func (w *Exporter) lookup(name string) *export {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.exports[name]
}

// endpointStats is the micro StatsHandler: the export behind a status
// endpoint.
func (w *Exporter) endpointStats(ep *micro.Endpoint) any {
	if e := w.lookup(ep.Metadata["service"]); e != nil {
		return e.status()
	}
	return nil
}

// status answers a status endpoint request with the export's state.
func (w *Exporter) status(name string) func(micro.Request) {
	return func(req micro.Request) {
		e := w.lookup(name)
		if e == nil {
			_ = req.Error("404", "not exported", nil)
			return
		}
		b, _ := json.Marshal(e.status())
		_ = req.Respond(b)
	}
}

// Shutdown stops taking messages (every subscription is drained, so the
// messages already delivered are still answered), waits for the requests
// being served, and stops the micro service. It does not close the
// connection. It returns ctx's error if the requests outlast it.
func (w *Exporter) Shutdown(ctx context.Context) error {
	if w.closing.Swap(true) {
		return nil
	}
	close(w.stop)
	w.watching.Wait()
	_ = w.micro.Stop()
	w.mu.Lock()
	for _, e := range w.exports {
		for _, sub := range e.subs {
			if err := sub.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
				w.opts.Logger.Warn("distributed: draining a subscription", "subject", e.subject, "error", err)
			}
			w.draining = append(w.draining, sub)
		}
		e.subs = nil
	}
	draining := slices.Clone(w.draining)
	w.mu.Unlock()

	// A drained subscription is removed once its last callback returned,
	// so once none is valid no new request can start.
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for _, sub := range draining {
		for sub.IsValid() && !w.nc.IsClosed() {
			select {
			case <-ctx.Done():
				return fmt.Errorf("replicaflow: distributed: draining: %w", ctx.Err())
			case <-tick.C:
			}
		}
	}
	done := make(chan struct{})
	go func() { w.handlers.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("replicaflow: distributed: requests in flight: %w", ctx.Err())
	}
	flushWait := 5 * time.Second
	if d, ok := ctx.Deadline(); ok {
		flushWait = max(time.Millisecond, time.Until(d))
	}
	if err := w.nc.FlushTimeout(flushWait); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		return fmt.Errorf("replicaflow: distributed: flushing replies: %w", err)
	}
	return nil
}

// unsubscribeAll drops every subscription (a failed NewExporter).
func (w *Exporter) unsubscribeAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range w.exports {
		for _, s := range e.subs {
			_ = s.Unsubscribe()
		}
		e.subs = nil
	}
}
