package registry

import (
	"context"
	"reflect"
	"time"
)

// watcher turns snapshots of a registry into events. Both backends use it:
// each change (or poll tick) makes it list the instances again and send the
// difference, so a slow reader holds back only its own watch, memory stays
// bounded and no event is made up from unverified data.
type watcher struct {
	find   func(ctx context.Context) ([]Instance, error)
	notify <-chan struct{}
	poll   time.Duration // 0: no polling
	done   <-chan struct{}
	stop   func() // called once when the watch ends
}

func (w watcher) run(ctx context.Context, out chan<- Event) {
	defer close(out)
	if w.stop != nil {
		defer w.stop()
	}
	var tick <-chan time.Time
	if w.poll > 0 {
		t := time.NewTicker(w.poll)
		defer t.Stop()
		tick = t.C
	}
	known := map[string]Instance{}
	for {
		list, err := w.find(ctx)
		if err == nil {
			if !w.emit(ctx, out, known, list) {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-w.done:
			return
		case <-w.notify:
		case <-tick:
		}
	}
}

// emit sends the difference between known and list, and updates known.
func (w watcher) emit(ctx context.Context, out chan<- Event, known map[string]Instance, list []Instance) bool {
	seen := make(map[string]bool, len(list))
	var events []Event
	for _, inst := range list {
		k := inst.Service + "/" + inst.ID
		seen[k] = true
		old, ok := known[k]
		switch {
		case !ok:
			events = append(events, Event{Type: EventRegistered, Instance: inst})
		case !reflect.DeepEqual(old, inst):
			events = append(events, Event{Type: EventUpdated, Instance: inst})
		default:
			continue
		}
		known[k] = inst
	}
	for k, inst := range known {
		if !seen[k] {
			events = append(events, Event{Type: EventRemoved, Instance: inst})
			delete(known, k)
		}
	}
	for _, ev := range events {
		select {
		case out <- ev:
		case <-ctx.Done():
			return false
		case <-w.done:
			return false
		}
	}
	return true
}
