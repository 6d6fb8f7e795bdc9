// Package httpguard puts watertight's policies on the two edges of a Go
// service: the requests it serves (Handler) and the requests it sends
// (Transport, PerHost).
//
// # Serving
//
// Handler runs each request under a policy. A refusal (an error matching
// watertight.ErrRejected: a full bulkhead, an open breaker, a full pool)
// becomes 503 Service Unavailable with a Retry-After header; the policy's
// own deadline (timeout.ErrExceeded) becomes 504 Gateway Timeout, as long
// as the handler has written nothing; a response the handler has started
// is never rewritten. Streaming handlers work: Flush and
// http.ResponseController pass through.
//
// # Sending
//
// Transport runs each outbound request under a policy. The request goes
// out with the policy's context, so a timeout's deadline reaches the
// connection; a rejected request never touches the network. Transport
// errors and 5xx responses count as failures for a breaker in the policy
// (WithFailure changes that), while the caller still gets the response
// unchanged. A response the caller never sees — one that arrives after an
// abandoning timeout gave up on it — is drained and closed so that its
// connection goes back to the pool.
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
// The constructors return an error for a nil handler, transport, policy or
// factory, or a bad HostsConfig, rather than failing on the first request.
// (DESIGN's sketch has them return only the handler or transport; the
// error is what a config-driven service needs to fail at start-up.)
package httpguard
