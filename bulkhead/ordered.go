package bulkhead

import "sync"

// ordered delivers events to a callback outside any lock of the bulkhead's,
// in the order they were added, one at a time: a goroutine that adds an
// event while another delivers leaves it to that one.
type ordered[E any] struct {
	mu         sync.Mutex
	pending    []E
	delivering bool
}

// add queues e. It may be called with the bulkhead's lock held.
func (o *ordered[E]) add(e E) {
	o.mu.Lock()
	o.pending = append(o.pending, e)
	o.mu.Unlock()
}

// deliver calls f with every queued event, unless another goroutine is
// delivering already (it will deliver these too). Call it with no lock
// held: f may call back into the bulkhead.
func (o *ordered[E]) deliver(f func(E)) {
	o.mu.Lock()
	if o.delivering {
		o.mu.Unlock()
		return
	}
	o.delivering = true
	locked := true
	defer func() {
		// Also when f panics: the panic goes on up, once, and the events
		// still queued go to the next delivery.
		if !locked {
			o.mu.Lock()
		}
		o.delivering = false
		o.mu.Unlock()
	}()
	for len(o.pending) > 0 {
		e := o.pending[0]
		o.pending = o.pending[1:]
		o.mu.Unlock()
		locked = false
		f(e)
		o.mu.Lock()
		locked = true
	}
}
