// Package budget limits the extra attempts — retries and hedges — that a
// service sends to one dependency, to a share of the requests it sends
// there: the retry budget of Finagle and Linkerd, and the idea behind
// gRPC's retry throttling.
//
// Without one, retries multiply the load on a dependency that is already
// failing: three attempts per request triple it, and three layers of
// services that each try three times send 27 calls for one request. With
// a budget of 20% of requests, the load on a failing dependency grows by
// at most 1.2× (the SRE book's figure for a 10% budget: 1.1× instead of
// ~3×), however many layers and attempts there are.
//
// # Contract
//
// Deposit records one request (a first attempt); TryWithdraw asks whether
// one extra attempt may go out now and counts it if so. Neither blocks.
// Over any span of one Window, the withdrawals granted never exceed
// Ratio × the deposits made in that span and the Window before it, plus
// MinPerSecond × Window — give or take one per goroutine racing to take
// the last token. MinPerSecond is available from the start, so a new
// budget can grant a retry at once. A refusal is counted and leaves no
// debt: the next TryWithdraw is decided afresh.
//
// One Budget per dependency, shared by every retry.Retry and hedge.Hedge
// that calls it, in this process: two Retries with a budget each would
// allow twice the extra load.
//
// The zero Budget is ready to use, as if made by New(Config{}), like the
// zero breaker.Breaker; a nil *Budget grants nothing and counts nothing.
//
// # Cost and exactness
//
// Deposit takes no lock and allocates nothing: it adds one to a counter on
// one of eight cache lines, picked by the goroutine's stack address, so
// that goroutines on different cores seldom share a line. It reads the
// clock only for the first deposit of a batch on its line and to fold
// every 64th deposit of the line into the window's ten time buckets.
// TryWithdraw and Stats read the clock and fold every line first; a lock
// is taken only for a moment when a bucket starts.
//
// A fold knows of a batch of deposits only that each was made after the
// batch began and after the fold before; it counts the batch as made at
// the later of the two. Deposits therefore leave the window early, never
// late: the budget never grants more than the bound, and may grant less,
// by the age of a batch, after a quiet spell — a batch ends at the next
// withdrawal, Stats, or 64 deposits on its line. Withdrawals are counted
// over the window's buckets and one more, so that every span of one
// Window is covered.
package budget
