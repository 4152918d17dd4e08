package scaling

// waiterState is where a queued request stands; guarded by Pool.mu.
type waiterState uint8

const (
	waiting waiterState = iota // in the queue
	granted                    // handed a slot of r
	refused                    // answered with err
)

// waiter is a request waiting for a slot. The grant is sent on ready (buffer
// 1) while Pool.mu is held, so whoever sees granted or refused under the lock
// knows the token is in the buffer.
type waiter struct {
	ready      chan struct{}
	r          *Replica
	err        error // why it was refused
	state      waiterState
	prev, next *waiter
}

// waitList is an intrusive FIFO of waiters with O(1) removal.
type waitList struct {
	head, tail *waiter
	n          int
}

func (l *waitList) push(w *waiter) {
	w.prev, w.next = l.tail, nil
	if l.tail == nil {
		l.head = w
	} else {
		l.tail.next = w
	}
	l.tail = w
	l.n++
}

func (l *waitList) remove(w *waiter) {
	if w.prev == nil {
		l.head = w.next
	} else {
		w.prev.next = w.next
	}
	if w.next == nil {
		l.tail = w.prev
	} else {
		w.next.prev = w.prev
	}
	w.prev, w.next = nil, nil
	l.n--
}

func (l *waitList) pop() *waiter {
	w := l.head
	if w != nil {
		l.remove(w)
	}
	return w
}
