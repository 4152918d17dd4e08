package scaling

import (
	"fmt"
	"math"
	"time"
)

// Sample is the load of a pool at one control tick.
type Sample struct {
	At       time.Time
	InFlight int // requests holding a slot
	Queued   int // requests waiting for a slot
	// Peak is the highest InFlight+Queued seen since the previous sample, so a
	// burst between two ticks is not missed.
	Peak int
	// Rejected counts the requests refused (queue full) since the previous sample.
	Rejected int
}

// Ongoing returns the requests in flight or queued at the sample.
func (s Sample) Ongoing() int { return s.InFlight + s.Queued }

// State is what Decide needs to know about the pool besides its samples.
type State struct {
	Current    int       // the replica count the pool aims for now (its last decision)
	Ready      int       // replicas serving now
	LastChange time.Time // when Current last changed; zero if never
	LastDown   bool      // the last change was a scale-down
}

// Decision is the autoscaler's answer at one tick.
type Decision struct {
	At      time.Time `json:"at"`
	From    int       `json:"from"`    // the replica count before the decision
	Desired int       `json:"desired"` // the replica count the pool should aim for
	Average float64   `json:"average"` // mean ongoing requests over the look-back window
	Reason  string    `json:"reason"`
}

// Changed reports whether the decision changes the replica count.
func (d Decision) Changed() bool { return d.Desired != d.From }

// Decide is the autoscaling policy, a pure function of its arguments. samples
// must be in time order; samples after now are ignored.
//
// Each sample i gets a wanted count, ceil(average ongoing over the LookBack
// window ending at i / TargetOngoingRequests), clamped to [MinReplicas,
// MaxReplicas]. The pool scales up when every sample of the last UpscaleDelay
// wants more than Current, to the highest count wanted in that window; it
// scales down when every sample of the last DownscaleDelay wants fewer and
// Current last changed at least DownscaleDelay ago (or last changed down:
// consecutive steps down follow the window as it slides), to the highest count
// wanted in that window. That is the hysteresis: one low sample blocks a
// scale-down for a whole DownscaleDelay, and a scale-down never goes below
// the highest demand of the window, so a steady (even noisy) load does not
// flap. A pool with no replica scales up at once when a request waits.
// With DisableAutoscaler, Decide holds NumReplicas.
func Decide(cfg Options, st State, samples []Sample, now time.Time) Decision {
	c := cfg.WithDefaults()
	cur := st.Current
	d := Decision{At: now, From: cur, Desired: cur}
	if c.DisableAutoscaler {
		d.Desired = c.clamp(c.NumReplicas)
		d.Reason = fmt.Sprintf("autoscaler disabled: holding %d replicas", d.Desired)
		return d
	}
	if b := c.clamp(cur); b != cur {
		d.Desired = b
		d.Reason = fmt.Sprintf("bounds: %d replicas outside [%d, %d]", cur, c.MinReplicas, c.MaxReplicas)
		return d
	}
	n := len(samples)
	for n > 0 && samples[n-1].At.After(now) {
		n--
	}
	samples = samples[:n]
	if n == 0 {
		d.Reason = "no samples yet"
		return d
	}
	last := samples[n-1]
	target := c.TargetOngoingRequests
	if cur == 0 && st.Ready == 0 && (last.Queued > 0 || last.Peak > 0 || last.Rejected > 0) {
		d.Desired = c.clamp(max(1, wanted(float64(last.Queued), target)))
		d.Average = float64(last.Ongoing())
		d.Reason = fmt.Sprintf("cold start: requests waiting with no replica, %d queued", last.Queued)
		return d
	}

	// avg returns the mean ongoing over the look-back window ending at sample i.
	avg := func(i int) float64 {
		from := samples[i].At.Add(-c.LookBack)
		sum, k := 0, 0
		for j := i; j >= 0 && (j == i || samples[j].At.After(from)); j-- {
			sum += samples[j].Ongoing()
			k++
		}
		return float64(sum) / float64(k)
	}
	d.Average = avg(n - 1)
	first := samples[0].At

	// Up: every sample of the upscale window wants more than cur.
	if from := now.Add(-c.UpscaleDelay); !first.After(from) {
		best, all, seen := 0, true, false
		for i := n - 1; i >= 0 && !samples[i].At.Before(from); i-- {
			w := c.clamp(wanted(avg(i), target))
			if w <= cur {
				all = false
				break
			}
			seen = true
			best = max(best, w)
		}
		if all && seen {
			d.Desired = best
			d.Reason = fmt.Sprintf("up: average ongoing %.2f / target %g wanted more than %d replicas for %v; highest %d",
				d.Average, target, cur, c.UpscaleDelay, best)
			return d
		}
	}

	// Down: every sample of the downscale window wants fewer.
	// After a scale-up the pool holds for a whole DownscaleDelay; after a
	// scale-down it may step down again as the window slides past the old
	// load (still never below the window's highest demand).
	settled := st.LastDown || !now.Before(st.LastChange.Add(c.DownscaleDelay))
	if from := now.Add(-c.DownscaleDelay); !first.After(from) && settled {
		best, all, seen := 0, true, false
		for i := n - 1; i >= 0 && !samples[i].At.Before(from); i-- {
			w := c.clamp(wanted(avg(i), target))
			if w >= cur {
				all = false
				break
			}
			seen = true
			best = max(best, w)
		}
		if all && seen {
			d.Desired = best
			d.Reason = fmt.Sprintf("down: average ongoing %.2f / target %g wanted fewer than %d replicas for %v; highest %d",
				d.Average, target, cur, c.DownscaleDelay, best)
			return d
		}
	}
	d.Reason = fmt.Sprintf("steady: average ongoing %.2f / target %g wants %d, holding %d",
		d.Average, target, c.clamp(wanted(d.Average, target)), cur)
	return d
}

// wanted returns ceil(ongoing / target), without float noise just above an integer.
func wanted(ongoing, target float64) int {
	q := ongoing / target
	return int(math.Ceil(q - 1e-9))
}
