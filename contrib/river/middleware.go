package watertightriver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/internal/durations"
	"github.com/watertight-go/watertight/internal/monotime"
	"github.com/watertight-go/watertight/internal/record"
	"github.com/watertight-go/watertight/internal/typednil"
	"github.com/watertight-go/watertight/ledger"
	"github.com/watertight-go/watertight/pool"
	"github.com/watertight-go/watertight/poolwait"
	"github.com/watertight-go/watertight/retry"
)

// DefaultSnooze is how long a refused job is snoozed when the refusal
// says nothing of when to come back: a breaker's open period is usually
// longer and says so.
const DefaultSnooze = 5 * time.Second

// Config configures a Middleware.
type Config struct {
	// Kinds gives the policy each job kind runs under. A kind given twice,
	// an empty kind, or a nil policy is an error. Nil: no kind has one of
	// its own.
	Kinds []KindPolicy

	// Default is the policy of the kinds not in Kinds. Nil: they run as
	// they are, and are measured all the same. A typed nil is an error.
	Default watertight.Policy

	// Snooze is how long a refused job is snoozed when the refusal gives
	// no RetryAfter, or one of zero or less. Zero: DefaultSnooze.
	// Negative, or under 1 ms (a bare number is nanoseconds), is an error.
	Snooze time.Duration

	// SlowAfter, if set, logs each job that ran longer, with where its
	// time went (its ledger), at Warn. Zero: none. Negative, or under
	// 1 ms, is an error.
	SlowAfter time.Duration

	// Logger receives the slow-job log lines. Nil: slog's default.
	Logger *slog.Logger
}

// KindPolicy is the policy of one job kind.
type KindPolicy struct {
	Kind   string // the job's Kind(), as its JobArgs says
	Policy watertight.Policy
}

// Middleware is the River worker middleware New returns. It is safe for
// concurrent use, and a pool.JobKinds.
type Middleware struct {
	river.WorkerMiddlewareDefaults

	def       watertight.Policy
	snooze    time.Duration
	slowAfter time.Duration
	logger    *slog.Logger

	mu    sync.RWMutex
	kinds map[string]*kind // every kind configured or seen
}

// New returns a Middleware, or an error naming the first invalid field.
func New(cfg Config) (*Middleware, error) {
	if err := durations.Check("watertightriver", "Config.Snooze", cfg.Snooze); err != nil {
		return nil, err
	}
	if err := durations.Check("watertightriver", "Config.SlowAfter", cfg.SlowAfter); err != nil {
		return nil, err
	}
	if cfg.Default != nil && typednil.Is(cfg.Default) {
		return nil, fmt.Errorf("watertightriver: Config.Default is %s", typednil.Describe(cfg.Default))
	}
	m := &Middleware{def: cfg.Default, snooze: cfg.Snooze, slowAfter: cfg.SlowAfter, logger: cfg.Logger, kinds: map[string]*kind{}}
	if m.snooze == 0 {
		m.snooze = DefaultSnooze
	}
	if m.logger == nil {
		m.logger = slog.Default()
	}
	for i, kp := range cfg.Kinds {
		switch {
		case kp.Kind == "":
			return nil, fmt.Errorf("watertightriver: Config.Kinds[%d].Kind is empty", i)
		case typednil.Is(kp.Policy):
			return nil, fmt.Errorf("watertightriver: Config.Kinds[%d] (%q): Policy is %s; give the kind a policy, or leave it out to run it under Config.Default", i, kp.Kind, typednil.Describe(kp.Policy))
		case m.kinds[kp.Kind] != nil:
			return nil, fmt.Errorf("watertightriver: Config.Kinds[%d]: job kind %q is given a policy twice", i, kp.Kind)
		}
		m.kinds[kp.Kind] = &kind{name: kp.Kind, policy: kp.Policy}
	}
	return m, nil
}

// kind is one job kind: its policy and its counts.
type kind struct {
	name   string
	policy watertight.Policy // nil: none

	running                           atomic.Int64
	worked, failed, snoozed, canceled atomic.Uint64
	run                               poolwait.Recorder
}

// kindOf returns the kind named name, making it at its first job.
func (m *Middleware) kindOf(name string) *kind {
	m.mu.RLock()
	k := m.kinds[name]
	m.mu.RUnlock()
	if k != nil {
		return k
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if k = m.kinds[name]; k == nil {
		k = &kind{name: name, policy: m.def}
		m.kinds[name] = k
	}
	return k
}

// Work runs job under its kind's policy: see the package doc for what
// comes of its error.
func (m *Middleware) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	k := m.kindOf(job.Kind)
	l := ledger.From(ctx)
	if l == nil {
		ctx, l = ledger.Start(ctx)
		defer l.Finish()
	}
	k.running.Add(1)
	start := monotime.Now()
	var permanent atomic.Bool // a hedging policy runs attempts at once
	work := func(ctx context.Context) error {
		err := doInner(ctx)
		if err != nil && retry.IsPermanent(err) {
			permanent.Store(true)
		}
		return err
	}
	var err error
	if k.policy != nil {
		err = k.policy.Do(ctx, work)
	} else {
		err = work(ctx)
	}
	end := monotime.Now()
	k.running.Add(-1)
	k.worked.Add(1)
	k.run.Observe(time.Duration(end - start))

	outcome := record.Outcome(err)
	var snoozeErr *rivertype.JobSnoozeError
	var cancelErr *rivertype.JobCancelError
	switch {
	case err == nil:
	case errors.As(err, &snoozeErr): // the job's own snooze, which River honours
		outcome = "snoozed"
	case errors.As(err, &cancelErr): // the job's own cancel
		k.canceled.Add(1)
		outcome = "canceled"
	case permanent.Load():
		k.canceled.Add(1)
		outcome, err = "canceled", river.JobCancel(err)
	case errors.Is(err, watertight.ErrRejected):
		k.snoozed.Add(1)
		d, ok := watertight.RetryAfter(err)
		if !ok || d <= 0 {
			d = m.snooze
		}
		outcome, err = "snoozed", river.JobSnooze(d)
	default:
		k.failed.Add(1)
	}
	record.Span(ctx, job.Kind, ledger.Attempt, start, end, outcome)
	if m.slowAfter > 0 && time.Duration(end-start) >= m.slowAfter {
		m.logger.LogAttrs(ctx, slog.LevelWarn, "slow job", slog.String("kind", job.Kind), slog.Int64("id", job.ID),
			slog.Int("attempt", job.Attempt), slog.String("outcome", outcome), slog.Duration("elapsed", time.Duration(end-start)), slog.Any("ledger", l))
	}
	return err
}

// JobKinds returns every kind the Middleware has, sorted by name: those
// of Config.Kinds, and those it has run a job of.
func (m *Middleware) JobKinds() []pool.JobKind {
	m.mu.RLock()
	out := make([]pool.JobKind, 0, len(m.kinds))
	for _, k := range m.kinds {
		out = append(out, k)
	}
	m.mu.RUnlock()
	slices.SortFunc(out, func(a, b pool.JobKind) int { return strings.Compare(a.JobKind(), b.JobKind()) })
	return out
}

// Kind returns the counts of the job kind named name, and false if the
// Middleware has never heard of it.
func (m *Middleware) Kind(name string) (pool.JobStats, bool) {
	m.mu.RLock()
	k := m.kinds[name]
	m.mu.RUnlock()
	if k == nil {
		return pool.JobStats{}, false
	}
	return k.JobStats(), true
}

// JobKind returns the kind's name.
func (k *kind) JobKind() string { return k.name }

// JobStats returns the kind's counts.
func (k *kind) JobStats() pool.JobStats {
	return pool.JobStats{
		Engine: "river", Running: int(max(0, k.running.Load())),
		Worked: k.worked.Load(), Failed: k.failed.Load(), Snoozed: k.snoozed.Load(), Canceled: k.canceled.Load(),
		Run: k.run.Stats(),
	}
}
