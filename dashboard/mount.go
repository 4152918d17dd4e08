package dashboard

import (
	"context"
	"sync"

	"github.com/replicaflow/replicaflow/flow"
)

// Mount serves the flow's dashboard: New, New's handler mounted at Path
// when the flow is made (so it answers however the flow is served: Run,
// Start, or Handler in any server), and the sampler running from the
// flow's start to its shutdown.
//
// It reads the flow's own settings, which opts override: the flow's
// metrics (Metrics), its title (Title, from flow.Info), and its management
// API, whose prefix the start and stop buttons call (Admin; no buttons when
// the API is off) and whose token protects the dashboard too (Token; with
// none, loopback clients only). New panics like flow.Mount when the path is
// taken. One Mount option serves one flow: New panics when it is given to a
// second one.
func Mount(opts ...Option) flow.Option {
	m := &mount{opts: opts}
	return flow.Options(flow.Setup(m.setup), flow.OnStart(m.start), flow.OnShutdown(m.stop))
}

// mount is one Mount option's dashboard.
type mount struct {
	opts []Option

	mu sync.Mutex
	d  *Dashboard
}

func (m *mount) setup(app *flow.Flow) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.d != nil {
		panic("replicaflow: dashboard.Mount: the option already serves another flow; make one per flow")
	}
	var base []Option
	if mt := app.Metrics(); mt != nil {
		base = append(base, Metrics(mt.Registry()))
	}
	if title := app.Info().Title; title != "" {
		base = append(base, Title(title))
	}
	if mg := app.Manager(); mg != nil {
		base = append(base, Admin(mg.Prefix()), Token(mg.Token()))
	} else {
		base = append(base, Admin(""))
	}
	d := New(app, append(base, m.opts...)...)
	app.Mount(d.Path(), d.Handler())
	m.d = d
}

func (m *mount) board() *Dashboard {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.d
}

func (m *mount) start(context.Context, *flow.Flow) error {
	m.board().Start()
	return nil
}

func (m *mount) stop(context.Context, *flow.Flow) error {
	m.board().Close()
	return nil
}
