package scaling

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/replicaflow/replicaflow/internal/testutil"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// load is the demand at a time since t0: requests running and queued.
type load func(d time.Duration) (running, queued int)

func steady(n int) load { return func(time.Duration) (int, int) { return n, 0 } }

// step is `before` until at, then `after`; demand above capacity is queued.
func step(at time.Duration, before, after int) load {
	return func(d time.Duration) (int, int) {
		if d < at {
			return before, 0
		}
		return after, 0
	}
}

// change is one change of the simulated pool.
type change struct {
	at       time.Duration
	from, to int
	reason   string
}

// simulate runs the control loop's sampling and Decide over a fake clock, the
// pool following every decision at once, and returns the changes.
func simulate(cfg Options, start int, l load, dur time.Duration) []change {
	c := cfg.WithDefaults()
	st := State{Current: start, Ready: start}
	var samples []Sample
	var out []change
	for d := c.Tick; d <= dur; d += c.Tick {
		now := t0.Add(d)
		run, q := l(d)
		samples = append(samples, Sample{At: now, InFlight: run, Queued: q, Peak: run + q})
		if len(samples) > 200 {
			samples = samples[1:]
		}
		dec := Decide(cfg, st, samples, now)
		if dec.Changed() {
			out = append(out, change{d, dec.From, dec.Desired, dec.Reason})
			st.LastDown = dec.Desired < dec.From
			st.Current, st.Ready, st.LastChange = dec.Desired, dec.Desired, now
		}
	}
	return out
}

func TestDecideSimulated(t *testing.T) {
	scaled := Options{MinReplicas: 1, MaxReplicas: 8, MaxConcurrentQueries: 1}
	jitter := func(n int) load { // n-1, n+1 alternating each tick: average n
		k := 0
		return func(time.Duration) (int, int) {
			k++
			if k%2 == 0 {
				return n + 1, 0
			}
			return n - 1, 0
		}
	}
	minute := time.Minute
	tests := []struct {
		name  string
		cfg   Options
		start int
		load  load
		dur   time.Duration
		check func(t *testing.T, ch []change)
	}{
		{"steady load holds for 10 minutes", scaled, 3, steady(3), 10 * minute, noChange},
		{"steady jittered load holds at 3", scaled, 3, jitter(3), 10 * minute, noChange},
		{"steady jittered load holds at 4", scaled, 4, jitter(3), 10 * minute, noChange},
		{"steady fractional target holds", Options{MaxReplicas: 8, TargetOngoingRequests: 2.5, MaxConcurrentQueries: 4}, 2, jitter(5), 10 * minute, noChange},
		{"burst scales up within one tick after the delay", scaled, 1, step(10*time.Second, 1, 8), 12 * time.Second,
			func(t *testing.T, ch []change) {
				if len(ch) == 0 {
					t.Fatal("no scale-up")
				}
				c := scaled.WithDefaults()
				if first := ch[0].at - 10*time.Second; first > c.UpscaleDelay+c.Tick || ch[0].to <= 1 {
					t.Errorf("first change %+v: %v after the step, want up within %v", ch[0], first, c.UpscaleDelay+c.Tick)
				}
				last := ch[len(ch)-1]
				if last.to != 8 || last.at-10*time.Second > time.Second {
					t.Errorf("last change %+v, want 8 within 1s of the step", last)
				}
				for _, x := range ch {
					if x.to < x.from {
						t.Errorf("down during a burst: %+v", x)
					}
				}
			}},
		{"down only after the delay", scaled, 8, step(20*time.Second, 8, 1), 40 * time.Second,
			func(t *testing.T, ch []change) {
				c := scaled.WithDefaults()
				if len(ch) == 0 {
					t.Fatal("no scale-down")
				}
				if ch[0].at < 20*time.Second+c.DownscaleDelay {
					t.Errorf("scaled down at %v, before step+delay %v", ch[0].at, 20*time.Second+c.DownscaleDelay)
				}
				if ch[0].at > 20*time.Second+c.DownscaleDelay+c.LookBack+2*c.Tick {
					t.Errorf("scaled down late, at %v", ch[0].at)
				}
				if got := ch[len(ch)-1].to; got != 1 {
					t.Errorf("ended at %d replicas, want 1", got)
				}
			}},
		{"a load drop reaches its level within one delay, not one per step", scaled, 8, step(20*time.Second, 8, 2), 40 * time.Second,
			func(t *testing.T, ch []change) {
				c := scaled.WithDefaults()
				if len(ch) == 0 || ch[len(ch)-1].to != 2 {
					t.Fatalf("changes %+v, want to end at 2", ch)
				}
				if last := ch[len(ch)-1].at; last > 20*time.Second+c.DownscaleDelay+c.LookBack+2*c.Tick {
					t.Errorf("reached 2 at %v: the steps down waited a delay each (%+v)", last, ch)
				}
				for _, x := range ch {
					if x.to > x.from || x.to < 2 {
						t.Errorf("change %+v: not a step down to the new level", x)
					}
				}
			}},
		{"bounds held under overload", Options{MinReplicas: 2, MaxReplicas: 5, MaxConcurrentQueries: 4}, 2, steady(100), minute,
			func(t *testing.T, ch []change) { expectRange(t, ch, 2, 5, 5) }},
		{"bounds held with no load", Options{MinReplicas: 2, MaxReplicas: 5, MaxConcurrentQueries: 4}, 5, steady(0), minute,
			func(t *testing.T, ch []change) { expectRange(t, ch, 2, 5, 2) }},
		{"autoscaler disabled holds initial replicas", Options{MaxReplicas: 8, NumReplicas: 3, DisableAutoscaler: true, MaxConcurrentQueries: 1}, 3, steady(50), minute, noChange},
		{"scale to zero after the delay", Options{ScaleToZero: true, MaxReplicas: 4}, 1, steady(0), 10 * time.Second,
			func(t *testing.T, ch []change) { expectRange(t, ch, 0, 4, 0) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := simulate(tt.cfg, tt.start, tt.load, tt.dur)
			tt.check(t, ch)
		})
	}
}

func noChange(t *testing.T, ch []change) {
	t.Helper()
	for _, c := range ch {
		t.Errorf("unexpected change %+v", c)
	}
}

func expectRange(t *testing.T, ch []change, lo, hi, final int) {
	t.Helper()
	if len(ch) == 0 {
		t.Fatalf("no change, want to end at %d", final)
	}
	for _, c := range ch {
		if c.to < lo || c.to > hi {
			t.Errorf("change %+v outside [%d, %d]", c, lo, hi)
		}
	}
	if got := ch[len(ch)-1].to; got != final {
		t.Errorf("ended at %d, want %d", got, final)
	}
}

func TestDecideCases(t *testing.T) {
	tick := 100 * time.Millisecond
	now := t0.Add(time.Minute)
	// series returns samples one tick apart ending at now.
	series := func(ongoing ...[2]int) []Sample {
		s := make([]Sample, len(ongoing))
		for i, o := range ongoing {
			s[i] = Sample{At: now.Add(-time.Duration(len(ongoing)-1-i) * tick), InFlight: o[0], Queued: o[1], Peak: o[0] + o[1]}
		}
		return s
	}
	flat := func(n int, o [2]int) [][2]int {
		s := make([][2]int, n)
		for i := range s {
			s[i] = o
		}
		return s
	}
	cfg := Options{MinReplicas: 1, MaxReplicas: 10, MaxConcurrentQueries: 1, Tick: tick, LookBack: time.Nanosecond}
	zero := Options{ScaleToZero: true, MaxReplicas: 4, MaxConcurrentQueries: 1, Tick: tick}
	tests := []struct {
		name    string
		cfg     Options
		st      State
		samples []Sample
		want    int
		reason  string
	}{
		{"queued demand counts", cfg, State{Current: 1, Ready: 1}, series(flat(5, [2]int{1, 5})...), 6, "up"},
		{"highest demand in the window, not the last sample", cfg, State{Current: 1, Ready: 1},
			series([2]int{1, 0}, [2]int{1, 0}, [2]int{5, 0}, [2]int{7, 0}, [2]int{6, 0}), 7, "up"},
		{"one low sample in the window blocks the scale-up", cfg, State{Current: 1, Ready: 1},
			series([2]int{1, 0}, [2]int{5, 0}, [2]int{1, 0}, [2]int{7, 0}, [2]int{6, 0}), 1, "steady"},
		{"not enough history to scale up", cfg, State{Current: 1, Ready: 1}, series([2]int{1, 9}), 1, "steady"},
		{"no samples", cfg, State{Current: 2, Ready: 2}, nil, 2, "no samples"},
		{"current above max is clamped", cfg, State{Current: 12, Ready: 12}, nil, 10, "bounds"},
		{"from zero at once when a request waits", zero, State{}, series([2]int{0, 1}), 1, "cold start"},
		{"from zero on queued burst", zero, State{}, series([2]int{0, 3}), 3, "cold start"},
		{"from zero when a request waited between ticks", zero, State{}, []Sample{{At: now, Peak: 1}}, 1, "cold start"},
		{"from zero when a request was refused", zero, State{}, []Sample{{At: now, Rejected: 2}}, 1, "cold start"},
		{"zero stays zero without demand", zero, State{}, series(flat(80, [2]int{0, 0})...), 0, "steady"},
		{"future samples are ignored", cfg, State{Current: 1, Ready: 1},
			append(series(flat(3, [2]int{1, 0})...), Sample{At: now.Add(time.Second), Queued: 50}), 1, "steady"},
		{"down waits for the delay since the last change", cfg, State{Current: 4, Ready: 4, LastChange: now.Add(-time.Second)},
			series(flat(80, [2]int{1, 0})...), 4, "steady"},
		{"down after the delay since the last change", cfg, State{Current: 4, Ready: 4, LastChange: now.Add(-time.Minute)},
			series(flat(80, [2]int{1, 0})...), 1, "down"},
		{"down to the highest demand in the window", cfg, State{Current: 8, Ready: 8},
			series(append(flat(40, [2]int{1, 0}), append([][2]int{{5, 0}}, flat(39, [2]int{2, 0})...)...)...), 5, "down"},
		{"disabled holds initial", Options{MaxReplicas: 5, NumReplicas: 2, DisableAutoscaler: true}, State{Current: 2, Ready: 2},
			series(flat(10, [2]int{100, 100})...), 2, "disabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.cfg, tt.st, tt.samples, now)
			if d.Desired != tt.want {
				t.Errorf("desired %d, want %d (%s)", d.Desired, tt.want, d.Reason)
			}
			if !strings.Contains(d.Reason, tt.reason) {
				t.Errorf("reason %q does not mention %q", d.Reason, tt.reason)
			}
			if d.From != tt.st.Current || !d.At.Equal(now) {
				t.Errorf("decision %+v: wrong From or At", d)
			}
		})
	}
}

func TestOptionsDefaults(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		cfg  Options
		want Options // the fields compared; Logger is checked apart
	}{
		{"zero value: one autoscaled replica, a queue, no CPU reservation", Options{}, Options{
			NumReplicas: 1, MinReplicas: 1, MaxReplicas: 1, MaxConcurrentQueries: 100, TargetOngoingRequests: 1,
			MaxQueuedRequests: 200, RequestTimeout: 30 * time.Second, Tick: 100 * ms, LookBack: 500 * ms,
			UpscaleDelay: 200 * ms, DownscaleDelay: 5 * time.Second}},
		{"max follows min", Options{MinReplicas: 3}, Options{
			NumReplicas: 3, MinReplicas: 3, MaxReplicas: 3, MaxConcurrentQueries: 100, TargetOngoingRequests: 1,
			MaxQueuedRequests: 600, RequestTimeout: 30 * time.Second, Tick: 100 * ms, LookBack: 500 * ms,
			UpscaleDelay: 200 * ms, DownscaleDelay: 5 * time.Second}},
		{"max follows num replicas", Options{NumReplicas: 4, DisableAutoscaler: true}, Options{
			NumReplicas: 4, MinReplicas: 1, MaxReplicas: 4, MaxConcurrentQueries: 100, TargetOngoingRequests: 1,
			MaxQueuedRequests: 800, RequestTimeout: 30 * time.Second, Tick: 100 * ms, LookBack: 500 * ms,
			UpscaleDelay: 200 * ms, DownscaleDelay: 5 * time.Second, DisableAutoscaler: true}},
		{"scale to zero starts with none", Options{ScaleToZero: true, MaxReplicas: 4, MaxConcurrentQueries: 1}, Options{
			ScaleToZero: true, MaxReplicas: 4, MaxConcurrentQueries: 1, TargetOngoingRequests: 1,
			MaxQueuedRequests: 100, RequestTimeout: 30 * time.Second, Tick: 100 * ms, LookBack: 500 * ms,
			UpscaleDelay: 200 * ms, DownscaleDelay: 5 * time.Second}},
		{"no queue", Options{DisableQueue: true, NumCPUs: 0.5}, Options{
			NumReplicas: 1, MinReplicas: 1, MaxReplicas: 1, MaxConcurrentQueries: 100, TargetOngoingRequests: 1,
			DisableQueue: true, RequestTimeout: 30 * time.Second, Tick: 100 * ms, LookBack: 500 * ms,
			UpscaleDelay: 200 * ms, DownscaleDelay: 5 * time.Second, NumCPUs: 0.5}},
		{"default queue capped", Options{MaxReplicas: 1000}, Options{
			NumReplicas: 1, MinReplicas: 1, MaxReplicas: 1000, MaxConcurrentQueries: 100, TargetOngoingRequests: 1,
			MaxQueuedRequests: MaxDefaultQueue, RequestTimeout: 30 * time.Second, Tick: 100 * ms, LookBack: 500 * ms,
			UpscaleDelay: 200 * ms, DownscaleDelay: 5 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.cfg.WithDefaults()
			if got.Logger == nil {
				t.Error("no default logger")
			}
			got.Logger = nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("defaults\n got %+v\nwant %+v", got, tt.want)
			}
			if again := tt.cfg.WithDefaults().WithDefaults(); again.Logger == nil || again.MinReplicas != got.MinReplicas ||
				again.NumReplicas != got.NumReplicas || again.MaxQueuedRequests != got.MaxQueuedRequests {
				t.Errorf("defaults applied twice changed the config: %+v", again)
			}
			if err := tt.cfg.Validate(); err != nil {
				t.Errorf("valid config refused: %v", err)
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Options
		want string
	}{
		{"negative min", Options{MinReplicas: -1}, "min replicas -1 is negative"},
		{"scale to zero with a minimum", Options{ScaleToZero: true, MinReplicas: 2}, "scale to zero with min replicas 2"},
		{"negative max", Options{MaxReplicas: -2}, "max replicas -2 must be at least 1"},
		{"min above max", Options{MinReplicas: 3, MaxReplicas: 2}, "min replicas 3 is above max replicas 2"},
		{"num above max", Options{MaxReplicas: 2, NumReplicas: 3}, "num replicas 3 is outside [min replicas 1, max replicas 2]"},
		{"num below min", Options{MinReplicas: 2, MaxReplicas: 4, NumReplicas: 1}, "num replicas 1 is outside"},
		{"negative capacity", Options{MaxConcurrentQueries: -1}, "max concurrent queries -1 must be at least 1"},
		{"negative target", Options{TargetOngoingRequests: -1}, "target ongoing requests per replica -1 must be above 0"},
		{"target above capacity", Options{MaxConcurrentQueries: 2, TargetOngoingRequests: 3}, "could never scale up"},
		{"negative queue", Options{MaxQueuedRequests: -1}, "max queued requests -1 is negative"},
		{"queue size with the queue disabled", Options{DisableQueue: true, MaxQueuedRequests: 5}, "max queued requests 5 with the queue disabled"},
		{"negative timeout", Options{RequestTimeout: -1}, "request timeout -1ns is negative"},
		{"negative tick", Options{Tick: -time.Second}, "tick -1s is negative"},
		{"negative look-back", Options{LookBack: -time.Second}, "look-back -1s is negative"},
		{"negative upscale delay", Options{UpscaleDelay: -time.Second}, "upscale delay -1s is negative"},
		{"negative downscale delay", Options{DownscaleDelay: -time.Second}, "downscale delay -1s is negative"},
		{"negative CPUs", Options{NumCPUs: -1}, "num CPUs -1 is negative"},
		{"every rule at once", Options{MinReplicas: -1, MaxConcurrentQueries: -1, NumCPUs: -1}, "min replicas -1 is negative; max concurrent queries -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate: %v, want an error containing %q", err, tt.want)
			}
			testutil.MustPanic(t, tt.want, func() { NewPool(tt.cfg, nil) })
		})
	}
}

func TestDurationJSON(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Duration
		bad  bool
	}{
		{in: `"200ms"`, want: Duration(200 * time.Millisecond)},
		{in: `"1m30s"`, want: Duration(90 * time.Second)},
		{in: `1000`, want: Duration(time.Microsecond)},
		{in: `"soon"`, bad: true},
		{in: `true`, bad: true},
	} {
		var d Duration
		err := json.Unmarshal([]byte(tt.in), &d)
		switch {
		case tt.bad && err == nil:
			t.Errorf("%s: read as %v, want an error", tt.in, d)
		case !tt.bad && (err != nil || d != tt.want):
			t.Errorf("%s: %v, %v; want %v", tt.in, d, err, tt.want)
		}
	}
	b, err := json.Marshal(Options{UpscaleDelay: 250 * time.Millisecond}.Status())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"upscale_delay":"250ms"`, `"request_timeout":"30s"`, `"tick":"100ms"`, `"downscale_delay":"5s"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("status JSON %s lacks %s", b, want)
		}
	}
}
