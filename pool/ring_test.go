package pool

import (
	"context"
	"math"
	"runtime"
	"sync"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tagged makes a task that carries n, for telling tasks apart.
func tagged(n int64) task { return task{enq: n} }

func TestRingIsAFIFOOfExactlyItsSize(t *testing.T) {
	for _, size := range []int{1, 3, 8} {
		r := newRing(size)
		next := int64(0)
		for lap := range 5 { // around the ring several times, at every fill level
			for i := range size {
				require.True(t, r.push(tagged(next+int64(i))), "size %d lap %d: push %d", size, lap, i)
				assert.Equal(t, i+1, r.len())
			}
			assert.False(t, r.push(tagged(-1)), "size %d: full at %d", size, size)
			for i := range size {
				got, ok := r.pop()
				require.True(t, ok)
				assert.Equal(t, next+int64(i), got.enq)
			}
			_, ok := r.pop()
			assert.False(t, ok, "empty")
			assert.Zero(t, r.len())
			next += int64(size)
		}
	}
}

func TestRingSlotIsACacheLine(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) == 8 {
		assert.Equal(t, uintptr(64), unsafe.Sizeof(ringSlot{}))
	}
}

func TestRingLapsWrapAround(t *testing.T) {
	r := newRing(3)
	// Start two laps before the lap counter wraps, with every slot empty
	// and waiting for that lap.
	const lap = math.MaxUint32 - 1
	for i := range r.slots {
		r.slots[i].state.Store(uint64(uint32(lap)) << 1)
	}
	r.head.Store(uint64(lap) << 32)
	r.tail.Store(uint64(lap) << 32)
	for n := range int64(20) { // across the wrap, with one or two tasks queued
		require.True(t, r.push(tagged(2*n)))
		require.True(t, r.push(tagged(2*n+1)))
		assert.Equal(t, 2, r.len())
		got, ok := r.pop()
		require.True(t, ok)
		assert.Equal(t, 2*n, got.enq)
		got, ok = r.pop()
		require.True(t, ok)
		assert.Equal(t, 2*n+1, got.enq)
	}
	assert.Less(t, uint32(r.head.Load()>>32), uint32(lap), "the lap counter wrapped")
}

// TestRingHandsEveryTaskOverOnce runs senders and takers at once: every
// task comes out exactly once, and each sender's tasks in the order it
// queued them.
func TestRingHandsEveryTaskOverOnce(t *testing.T) {
	const senders, takers, perSender = 4, 4, 5000
	r := newRing(5)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seen = make(map[int64]bool)
	)
	for s := range int64(senders) {
		wg.Go(func() {
			for n := range int64(perSender) {
				for !r.push(task{ctx: context.Background(), enq: s<<32 | n}) {
					runtime.Gosched() // full: let a taker run, even on one CPU
				}
			}
		})
	}
	for range takers {
		wg.Go(func() {
			for {
				got, ok := r.pop()
				if !ok {
					mu.Lock()
					done := len(seen) == senders*perSender
					mu.Unlock()
					if done {
						return
					}
					runtime.Gosched()
					continue
				}
				s, n := got.enq>>32, got.enq&(1<<32-1)
				mu.Lock()
				assert.False(t, seen[got.enq], "task %d of sender %d taken twice", n, s)
				seen[got.enq] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	assert.Len(t, seen, senders*perSender)
	assert.Zero(t, r.len())

	// With one taker, each sender's tasks come out in its order.
	r = newRing(4)
	var last [senders]int64
	for i := range last {
		last[i] = -1
	}
	var done sync.WaitGroup
	for s := range int64(senders) {
		done.Go(func() {
			for n := range int64(perSender) {
				for !r.push(tagged(s<<32 | n)) {
					runtime.Gosched()
				}
			}
		})
	}
	for range senders * perSender {
		var got task
		for ok := false; !ok; got, ok = r.pop() {
			runtime.Gosched()
		}
		s, n := got.enq>>32, got.enq&(1<<32-1)
		require.Equal(t, last[s]+1, n, "sender %d", s)
		last[s] = n
	}
	done.Wait()
}
