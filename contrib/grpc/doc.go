// Package watertightgrpc puts watertight's policies on gRPC: interceptors
// for the calls a client makes and the calls a server serves. It is a
// module of its own (github.com/watertight-go/watertight/contrib/grpc), so
// that a service that does not use gRPC downloads none of it.
//
//	policy := watertight.Chain(totalTimeout, retry, breaker, bulkhead, attemptTimeout)
//	unary, err := watertightgrpc.UnaryClientInterceptor(policy)
//	conn, err := grpc.NewClient(target, grpc.WithChainUnaryInterceptor(unary))
//
// The constructors return an error for a nil policy (or a nil pointer, a
// failed New's result) or option, instead of an interceptor that fails on
// every call: a service must fail at start-up.
//
// # Client
//
// Each call of the policy's fn is one RPC, with the policy's ctx, so that
// its deadline goes on the wire as grpc-timeout; a retry or a hedge in the
// policy makes each attempt a fresh RPC. The first attempt decodes into
// the caller's reply; attempts after it decode into replies of their own
// (a new value of the reply's type: a protobuf message, or what another
// codec's reply points to; a reply that is not a pointer is not decoded
// twice — the second attempt fails with a retry.Permanent error), and the
// one that ended the call is copied into the caller's once the policy has
// returned and the first attempt has returned too: when the interceptor
// returns, nothing writes the caller's reply. An attempt that a policy
// starts after its Do returned (a hedge launched as the call was decided)
// makes no RPC.
//
// Unavailable, DeadlineExceeded, ResourceExhausted, Internal, Unknown and
// Aborted count as failures for the policy (WithFailureCodes changes the
// set); other codes are the server answering, and count as successes. A
// failure's grpc-retry-pushback-ms trailer (gRFC A6) is its hint
// (watertight.RetryAfter), which a retry waits for; a negative one makes it
// a retry.Permanent error: the server said not to retry. The caller always
// gets the server's status unchanged — status.Code and status.FromError
// give it — with the server's pushback still its hint, so that a retry
// around the interceptor honours it too; and a server's Unavailable does not match
// watertight.ErrRejected: the call reached the server. Only a refusal by
// the client's own policy does: it is a codes.Unavailable status that
// matches watertight.ErrRejected (and the policy's sentinel) through
// errors.Is; the policy's own deadline is codes.DeadlineExceeded.
//
// A stream's policy covers opening the stream, until the streamer returns:
// a refusal or a failure to open is the policy's, and a retry opens it
// again. The stream then runs with the caller's ctx, not the policy's
// (whose timeout would end it), and what happens on it is the caller's.
//
// # Server
//
// A unary call, or the whole of a stream's handler, runs under the policy.
// A refusal becomes codes.Unavailable (or ResourceExhausted, by
// WithRejectCode), with the grpc-retry-pushback-ms trailer when the policy
// knows how long (an open breaker does): whole milliseconds rounded up, -1
// ("do not retry") for a negative hint however small, and -1 as well when
// the wait would end past the call's deadline, so that a client that
// honours it fails fast instead of waiting out its deadline. The policy's
// deadline becomes codes.DeadlineExceeded, also when the handler returned
// an error without a status of its own (a plain error, the ctx's) after
// it fired; the handler's own status goes to the client unchanged, and is
// classified as on a client for a breaker in the policy.
//
// # Per method
//
// PerMethod gives every method its own policy, made by a factory on the
// method's first call, so that a slow method cannot take the slots of the
// others; it keeps at most MaxMethods, and never forgets a method whose
// breaker is open.
//
// The metric adapters read the policies as they are: add them, or
// Methods.Policies, to contrib/prometheus or contrib/otel.
package watertightgrpc
