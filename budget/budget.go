package budget

import (
	"math"
	"sync"
	"sync/atomic"

	"github.com/watertight-go/watertight/internal/monotime"
	"github.com/watertight-go/watertight/internal/stripe"
)

// Budget limits the extra attempts (retries, hedges) made to one
// dependency to a share of the requests made to it. Create it with New;
// it is safe for concurrent use and starts no goroutine. The zero Budget
// is ready to use, as if made by New(Config{}): it sets itself up on its
// first use.
type Budget struct {
	name    string
	ratio   float64
	reserve float64 // MinPerSecond × Window: extra attempts on top of the ratio
	width   int64   // one bucket, in ns: Window / buckets

	// Deposits land on a stripe picked at random, so that goroutines on
	// different cores seldom write the same cache line; they are folded
	// into the buckets in batches. Nil only in a zero Budget not used yet:
	// stored last, so that the fields above are set when it is seen.
	stripes   atomic.Pointer[[stripe.Count]depositLine]
	setupOnce sync.Once

	lastFold atomic.Int64 // monotime of the last fold: later deposits were made after it
	mu       sync.Mutex   // resets a slot for a new bucket
	slots    [slotCount]slot

	withdrawn, refused atomic.Uint64
}

const (
	// buckets is how many time buckets a Window is split into: deposits
	// leave it a tenth of a Window at a time.
	buckets = 10
	// slotCount holds the buckets of one Window and one more, for
	// withdrawals (see available), rounded up to a power of two.
	slotCount = 16
	// foldEvery is how many deposits on one stripe trigger a fold (a clock
	// reading), so that Deposit reads the clock once in foldEvery calls.
	foldEvery = 64
)

// depositLine is one cache line of deposits: how many were made on it, how
// many of them are in the buckets already, and when the first of the
// others (the batch) was made.
type depositLine struct {
	deposited, folded atomic.Uint64
	batchStart        atomic.Int64 // monotime; may be a former batch's, which is earlier
	_                 [40]byte
}

// slot is one bucket of the window: which bucket it holds now (its
// absolute index, monotime / width), and the deposits and withdrawals
// counted in it.
type slot struct {
	bucket, deposits, withdrawals atomic.Int64
}

// New returns a Budget configured by cfg, or an error naming the first
// invalid field.
func New(cfg Config) (*Budget, error) {
	c, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	b := &Budget{}
	b.init(c)
	return b, nil
}

// init sets b up with the settings c.
func (b *Budget) init(c Config) {
	b.name, b.ratio = c.Name, c.Ratio
	b.reserve = c.MinPerSecond * c.Window.Seconds()
	b.width = int64(c.Window) / buckets
	for i := range b.slots {
		b.slots[i].bucket.Store(math.MinInt64) // holds no bucket yet
	}
	b.lastFold.Store(monotime.Now())
	b.stripes.Store(new([stripe.Count]depositLine))
}

// lines returns the deposit lines, setting up a zero Budget first. It
// stays small enough to inline: the hot path pays one nil check.
func (b *Budget) lines() *[stripe.Count]depositLine {
	if l := b.stripes.Load(); l != nil {
		return l
	}
	return b.setup()
}

// setup makes a zero Budget a New(Config{}) one, once.
func (b *Budget) setup() *[stripe.Count]depositLine {
	b.setupOnce.Do(func() {
		c, err := Config{}.settings()
		if err != nil {
			panic("budget: the zero Config is invalid: " + err.Error()) // a bug here, not the caller's
		}
		b.init(c)
	})
	return b.stripes.Load()
}

// MustNew is like New but panics if cfg is invalid.
func MustNew(cfg Config) *Budget {
	b, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return b
}

// Name returns Config.Name.
func (b *Budget) Name() string {
	if b == nil {
		return ""
	}
	return b.name
}

// Deposit records one request: a first attempt. It takes no lock and
// allocates nothing. It reads the clock only for the first deposit of a
// batch on its stripe, and to fold a batch of foldEvery deposits.
func (b *Budget) Deposit() {
	if b == nil {
		return
	}
	s := &b.lines()[stripe.Hint()]
	n := s.deposited.Add(1)
	if n-1 == s.folded.Load() {
		s.batchStart.Store(monotime.Now()) // the first of a new batch
	}
	if n%foldEvery == 0 {
		b.fold(monotime.Now())
	}
}

// TryWithdraw reports whether one extra attempt may go out now, and
// counts it; if not, it counts a refusal, which leaves no debt. It reads
// the clock and takes no lock, except for a moment when a new time bucket
// starts.
func (b *Budget) TryWithdraw() bool {
	if b == nil {
		return false
	}
	b.lines()
	now := monotime.Now()
	b.fold(now)
	cur := now / b.width
	if b.available(cur) < 1 {
		b.refused.Add(1)
		return false
	}
	b.slot(cur).withdrawals.Add(1)
	b.withdrawn.Add(1)
	return true
}

// available is how many extra attempts may go out in bucket cur: the
// ratio of the deposits in the window's buckets, plus the reserve, less
// the withdrawals in the window's buckets and the one before them. Any
// span of one Window ending now lies within those withdrawal buckets, so
// over any such span withdrawals never pass the bound.
func (b *Budget) available(cur int64) int64 {
	var deposits, withdrawals int64
	for i := range b.slots {
		s := &b.slots[i]
		age := cur - s.bucket.Load()
		if age < 0 || age > buckets {
			continue // empty, expired, or from a clock that went back (another synctest bubble)
		}
		if age < buckets {
			deposits += s.deposits.Load()
		}
		withdrawals += s.withdrawals.Load()
	}
	return int64(math.Floor(b.ratio*float64(deposits)+b.reserve)) - withdrawals
}

// fold moves the deposits made since the last fold into the buckets. It
// does not know when each was made, only that each was made after the
// last fold and after its stripe's batch began: it counts a stripe's
// batch in the bucket of the later of those two, so that deposits expire
// early, never late. The budget never grants more than the bound, and may
// grant less than it by up to the age of a batch: a batch ends at the
// next withdrawal, Stats, or foldEvery deposits on its stripe.
func (b *Budget) fold(now int64) {
	since := b.lastFold.Load()
	cur := now / b.width
	lines := b.stripes.Load()
	for i := range lines {
		s := &lines[i]
		for {
			start := s.batchStart.Load()
			folded, deposited := s.folded.Load(), s.deposited.Load()
			if folded == deposited {
				break
			}
			if s.folded.CompareAndSwap(folded, deposited) {
				at := max(since, start) / b.width
				if cur-at < buckets { // else made more than a Window ago, for all we know: expired
					b.slot(at).deposits.Add(int64(deposited - folded))
				}
				break
			}
		}
	}
	b.lastFold.Store(now)
}

// slot returns the slot of bucket i, emptying it first if it held an
// older (or, after a clock that went back, a newer) bucket.
func (b *Budget) slot(i int64) *slot {
	s := &b.slots[uint64(i)%slotCount]
	if s.bucket.Load() == i {
		return s
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if s.bucket.Load() != i {
		s.deposits.Store(0)
		s.withdrawals.Store(0)
		s.bucket.Store(i)
	}
	return s
}

// Stats is a snapshot of a Budget's counters.
type Stats struct {
	Deposits  uint64 // requests recorded, cumulative
	Withdrawn uint64 // extra attempts granted, cumulative
	Refused   uint64 // extra attempts refused, cumulative
	Available int    // extra attempts TryWithdraw would grant now
}

// Stats returns a snapshot. It reads the clock and allocates nothing.
func (b *Budget) Stats() Stats {
	if b == nil {
		return Stats{}
	}
	lines := b.lines()
	now := monotime.Now()
	b.fold(now)
	st := Stats{Withdrawn: b.withdrawn.Load(), Refused: b.refused.Load()}
	for i := range lines {
		st.Deposits += lines[i].deposited.Load()
	}
	st.Available = int(max(0, b.available(now/b.width)))
	return st
}
