package watertightgrpc

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"google.golang.org/grpc"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/internal/openbreaker"
	"github.com/watertight-go/watertight/internal/typednil"
	"github.com/watertight-go/watertight/internal/withindo"
)

// MaxMethods bounds how many methods a Methods keeps a policy for: a
// server has a fixed set, but a client that calls ever-new methods
// (reflection, a proxy) must not grow without end.
const MaxMethods = 1024

// Methods gives every gRPC method its own policy, made by a factory on the
// first call of the method, so that a slow method cannot take the slots of
// the others. Create it with PerMethod.
type Methods struct {
	factory func(fullMethod string) (watertight.Policy, error)
	mu      sync.RWMutex
	byName  map[string]watertight.Policy
}

// PerMethod returns a Methods whose policies factory makes, once per
// method. When MaxMethods methods have one, the policy of a method whose
// breakers (found through watertight.Unwrap) are all closed is dropped to
// make room — never one that is open or half-open, which would forget
// that the method is down; if none can be dropped, calls of new methods
// are refused. A nil factory (or a nil func value in it) is an error.
func PerMethod(factory func(fullMethod string) (watertight.Policy, error)) (*Methods, error) {
	if typednil.Is(factory) {
		return nil, errors.New("watertightgrpc: PerMethod: factory is nil")
	}
	return &Methods{factory: factory, byName: map[string]watertight.Policy{}}, nil
}

// errTooManyMethods refuses a new method when none can be dropped.
var errTooManyMethods = fmt.Errorf("watertightgrpc: %d methods have a policy and none can be dropped: %w", MaxMethods, watertight.ErrRejected)

// policy returns method's policy, making it if it is new.
func (m *Methods) policy(method string) (watertight.Policy, error) {
	m.mu.RLock()
	p := m.byName[method]
	m.mu.RUnlock()
	if p != nil {
		return p, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if p = m.byName[method]; p != nil {
		return p, nil
	}
	if len(m.byName) >= MaxMethods && !m.dropOneLocked() {
		return nil, errTooManyMethods
	}
	p, err := m.factory(method)
	switch {
	case err != nil:
		return nil, fmt.Errorf("watertightgrpc: policy for %s: %w", method, err)
	case typednil.Is(p):
		return nil, fmt.Errorf("watertightgrpc: policy for %s: factory returned %s", method, typednil.Describe(p))
	}
	m.byName[method] = p
	return p, nil
}

func (m *Methods) dropOneLocked() bool {
	for name, p := range m.byName {
		if !openbreaker.In(p) {
			delete(m.byName, name)
			return true
		}
	}
	return false
}

// Policies returns every method's policy, for metrics to look into.
func (m *Methods) Policies() map[string]watertight.Policy {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make(map[string]watertight.Policy, len(m.byName))
	for k, v := range m.byName {
		out[k] = v
	}
	return out
}

// UnaryClientInterceptor is UnaryClientInterceptor with each method's own
// policy.
func (m *Methods) UnaryClientInterceptor(opts ...Option) (grpc.UnaryClientInterceptor, error) {
	o, err := newOptions("Methods.UnaryClientInterceptor", opts)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, callOpts ...grpc.CallOption) error {
		p, err := m.policy(method)
		if err != nil {
			return rpcError(err)
		}
		return unaryCall(ctx, p, withindo.Only(p), o, method, req, reply, cc, invoker, callOpts)
	}, nil
}

// StreamClientInterceptor is StreamClientInterceptor with each method's own
// policy.
func (m *Methods) StreamClientInterceptor(opts ...Option) (grpc.StreamClientInterceptor, error) {
	o, err := newOptions("Methods.StreamClientInterceptor", opts)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, callOpts ...grpc.CallOption) (grpc.ClientStream, error) {
		p, err := m.policy(method)
		if err != nil {
			return nil, rpcError(err)
		}
		return openStream(ctx, p, o, desc, cc, method, streamer, callOpts)
	}, nil
}

// UnaryServerInterceptor is UnaryServerInterceptor with each method's own
// policy.
func (m *Methods) UnaryServerInterceptor(opts ...Option) (grpc.UnaryServerInterceptor, error) {
	o, err := newOptions("Methods.UnaryServerInterceptor", opts)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		p, err := m.policy(info.FullMethod)
		if err != nil {
			return nil, o.serverError(ctx, err)
		}
		return serveUnary(ctx, p, o, req, handler)
	}, nil
}

// StreamServerInterceptor is StreamServerInterceptor with each method's own
// policy.
func (m *Methods) StreamServerInterceptor(opts ...Option) (grpc.StreamServerInterceptor, error) {
	o, err := newOptions("Methods.StreamServerInterceptor", opts)
	if err != nil {
		return nil, err
	}
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		p, err := m.policy(info.FullMethod)
		if err != nil {
			return o.serverError(ss.Context(), err)
		}
		return serveStream(p, o, srv, ss, handler)
	}, nil
}
