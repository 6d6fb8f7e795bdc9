// Package ledger answers the incident's first question for one request:
// the request took 8 seconds — where did the time go? A Ledger travels in
// the request's ctx, and every watertight gate the request passes through
// records into it what it did to the request, by dependency name: "7.9 s
// waiting for a connection, 0.1 s in payments".
//
//	ctx, l := ledger.Start(r.Context())
//	... // the request's work, through watertight's gates, with ctx
//	l.Finish()
//	slog.InfoContext(ctx, "request", "took", l.Elapsed(), "ledger", l)
//
// httpguard.WithLedger does this for every request a Handler serves, and
// writes Server-Timing, logs slow requests and hands them to the
// dashboard; most services need nothing else from this package.
//
// # What is recorded, and where
//
// Each gate records on the paths where it reads the clock or refuses
// already, under its Config.Name (a host, for httpguard.Transport):
//
//   - bulkhead and pool: a Wait for a slot or a worker — only when the
//     call waited — and a Refused entry for a refusal ("full", "wait
//     timeout", "shed", "closed");
//   - breaker: a Refused entry for a refusal ("open", "half-open full");
//   - timeout: an Expired entry when its deadline cut the call;
//   - retry: a Backoff entry for each wait between attempts, and an
//     Attempt entry, with its outcome, for each attempt after the first;
//   - hedge: for a call that hedged, an Attempt entry for each attempt,
//     the winner's as it ended and every loser's "lost";
//   - httpguard.Transport: per attempt, a Wait for the connection when
//     the checkout took a while (httptrace's GetConn to GotConn) and an
//     Attempt until the response's headers, with its status when it is
//     not 2xx or 3xx, or "failed";
//   - contrib/grpc's client interceptors: an Attempt per RPC attempt;
//   - the pools of contrib/pgx, contrib/redis and poolwait's database/sql
//     connector: their waits, queries and commands.
//
// A fast path that reads no clock records nothing, and with no Ledger in
// the ctx a gate's fast path costs exactly what it did: a slow-path event
// costs one ctx.Value. Entries may nest, like the spans of a trace — a
// bulkhead's wait inside an attempt, the Transport's attempt inside the
// retry's — each under its own name: the ledger is a timeline, not a
// partition of the elapsed time, and Totals add up per name and kind.
// Code of your own records with Record or Span.
//
// # Bounds and cost
//
// A Ledger keeps its first DefaultMaxEntries (16) entries in full, inside
// itself, and counts every entry in its Totals (MaxTotals-1 name and kind
// pairs, then "other"): a request that runs 10,000 queries holds 16
// entries and one total. Start allocates the Ledger (about 1.4 KiB, the
// entries and totals inline) and its ctx; recording the first entries
// allocates nothing and takes a mutex for a moment (a hedge's attempts
// record at once). After Finish, entries are counted as late and not kept,
// so that a hedge's loser that comes back after the response cannot
// change what was logged.
//
// # Contract
//
// Every method of a nil *Ledger is a no-op that returns zero values, and
// From of a ctx without a Ledger (or a nil ctx) is nil: code that records
// never checks. Nothing in this package blocks beyond the Ledger's own
// brief lock, and nothing is refused.
package ledger
