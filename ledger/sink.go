package ledger

import "time"

// Request is a request that finished, with where its time went: what a
// server hands to a Sink (httpguard's Handler does, for each request).
type Request struct {
	Method  string
	Path    string
	Status  int           // the response's status; 0 if none was written
	Start   time.Time     // when it started
	Elapsed time.Duration // how long it took
	Ledger  *Ledger       // finished: it holds no more entries
}

// A Sink takes requests as they finish: the dashboard keeps the slowest of
// the last minute. Offer is called for every request, on the request's
// goroutine once it is answered: it must return quickly (the dashboard's
// compares with its slowest so far without a lock, and keeps only the
// few that are slower).
type Sink interface {
	Offer(r Request)
}
