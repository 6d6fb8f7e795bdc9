// Package httpguard puts watertight's policies on the two edges of a Go
// service: the requests it serves (Handler) and the requests it sends
// (Transport, PerHost).
//
// # Serving
//
// Handler runs each request under a policy. A refusal by that policy (an
// error matching watertight.ErrRejected: a full bulkhead, an open breaker,
// a full pool) becomes 503 Service Unavailable with a Retry-After header;
// its deadline (timeout.ErrExceeded) becomes 504 Gateway Timeout, as long
// as the handler has written nothing; a response the handler has started
// is never rewritten. Streaming handlers work: Flush and
// http.ResponseController pass through, and the writer keeps every
// optional interface of the connection's (CloseNotify, ReadFrom,
// WriteString, Push, Hijack, Unwrap). A request is served once, whatever
// the policy: a retry or a hedge in a server's policy cannot run the
// handler twice.
//
// Clients that leave say nothing about the server: a request whose client
// left, and a handler that aborts with http.ErrAbortHandler (what
// httputil.ReverseProxy does when the client of a stream goes away),
// count neither way for a breaker in the policy, and the abort still
// reaches net/http.
//
// A policy's timeout ends a response at its deadline, also one that is
// meant to last: server-sent events, a websocket. Serve those outside the
// policy with WithExempt(IsStream), and bound them on their own (a
// bulkhead without a timeout around their handler).
//
// Handler maps only what its own policy returns. When the handler itself
// makes an outbound call under a policy and that call is refused, the
// error is the handler's to answer; WriteError gives it the same mapping
// (503 with Retry-After, or 504) in one line.
//
// # Sending
//
// Transport runs each outbound request under a policy. The request goes
// out with the policy's context, so a timeout's deadline reaches the
// connection; a rejected request never touches the network, and its body
// is closed. Failed attempts (see below) count for a breaker in the
// policy, while the caller still gets the response unchanged. A response the caller never sees — one that arrives after an
// abandoning timeout gave up on it — is drained and closed so that its
// connection goes back to the pool.
//
// # Retries and hedges
//
// The policy may call its fn more than once (a retry.Retry), at the same
// time (a hedge), or give up on a call that runs on (an abandoning
// timeout): each call of fn is one attempt, whatever the policy, and a
// fresh send with its own request state. The body is rewound with
// req.GetBody (http.NewRequest sets it for bytes, strings and their
// Readers); a request with a body and no GetBody is sent once, and so is
// one whose method is not idempotent (anything but GET, HEAD, OPTIONS,
// TRACE, PUT, DELETE) unless it has an Idempotency-Key header (WithResend
// changes the rule): the policy's next call of fn fails with a
// retry.Permanent error, which stops a retry at once, and the caller gets
// the response of the attempt that was sent. The body of a failed
// attempt's response is read into memory (up to 64 KiB) and closed before
// the next attempt goes out, so that its connection is reused, and the
// response is kept: the call may still end on it (a hedge whose attempts
// all fail returns its first attempt's). The caller gets the response or
// error of the attempt that ended the call, and every other response is
// closed. A policy that calls fn after its Do returned (a hedge launched
// as the call was decided) finds the request answered: that attempt sends
// nothing. A 429's or 503's Retry-After
// (delay-seconds or an HTTP-date) is the hint of the attempt's
// *StatusError, so that a retry waits that long (capped by its MaxDelay).
//
// By default an attempt fails — for a breaker's count and a retry's
// decision — on a transport error, 429 Too Many Requests, and every 5xx
// but 501 Not Implemented; WithFailure changes that.
//
// PerHost gives every destination host its own policy, made by a factory
// on the first request to it, so that one slow host cannot take the slots
// of the others. The lookup of a known host takes no lock and allocates
// nothing. Hosts are bounded (HostsConfig.MaxHosts); an idle host's policy
// is dropped to make room, but never while a request to it is in flight or
// while a breaker in it is open or half-open.
//
// # Errors
//
// The constructors return an error for a nil handler, transport, policy,
// factory or option (also a nil pointer, such as a failed New's result),
// or a bad HostsConfig, rather than failing on the first request: a
// config-driven service must fail at start-up, not under traffic.
package httpguard
