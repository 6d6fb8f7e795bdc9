package httpguard_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight/budget"
	"github.com/watertight-go/watertight/httpguard"
	"github.com/watertight-go/watertight/retry"
)

// dependency answers each request with the next of its statuses (the last
// one from then on), recording the bodies it was sent and counting the
// Close calls of every response body it gave.
type dependency struct {
	mu       sync.Mutex
	statuses []int
	header   http.Header // on every response
	bodies   []string
	closed   atomic.Int32
	sentAt   []time.Time
}

func (d *dependency) RoundTrip(req *http.Request) (*http.Response, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		_ = req.Body.Close()
	}
	d.bodies = append(d.bodies, string(body))
	d.sentAt = append(d.sentAt, time.Now())
	status := d.statuses[min(len(d.bodies), len(d.statuses))-1]
	h := http.Header{}
	for k, v := range d.header {
		h[k] = v
	}
	return &http.Response{StatusCode: status, Header: h, Body: newBody("status "+strconv.Itoa(status), &d.closed), Request: req}, nil
}

func retrying(t *testing.T, next http.RoundTripper, opts ...httpguard.TransportOption) http.RoundTripper {
	t.Helper()
	r := retry.MustNew(retry.Config{
		MaxAttempts: 3,
		Backoff:     func() backoff.BackOff { return backoff.NewConstantBackOff(time.Millisecond) },
		Budget:      budget.MustNew(budget.Config{Ratio: 10}),
	})
	tr, err := httpguard.Transport(next, r, opts...)
	require.NoError(t, err)
	return tr
}

// A POST with GetBody and an Idempotency-Key is resent whole; the failed
// attempts' responses are closed; the caller gets the last response.
func TestRetriedPostIsResentWhole(t *testing.T) {
	dep := &dependency{statuses: []int{503, 502, 200}}
	req, _ := http.NewRequest(http.MethodPost, "http://payments/charge", bytes.NewReader([]byte(`{"amount":42}`)))
	req.Header.Set("Idempotency-Key", "charge-7")
	resp, err := retrying(t, dep).RoundTrip(req)
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	got, _ := io.ReadAll(resp.Body)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, "status 200", string(got))
	assert.Equal(t, []string{`{"amount":42}`, `{"amount":42}`, `{"amount":42}`}, dep.bodies)
	assert.Equal(t, int32(3), dep.closed.Load(), "two discarded, one closed by the caller")
}

// A POST without an Idempotency-Key is sent once: the caller gets its
// response, a 503, unchanged.
func TestPostWithoutIdempotencyKeyIsNotRetried(t *testing.T) {
	dep := &dependency{statuses: []int{503}}
	req, _ := http.NewRequest(http.MethodPost, "http://payments/charge", strings.NewReader("x"))
	resp, err := retrying(t, dep).RoundTrip(req)
	require.NoError(t, err)
	assert.Equal(t, 503, resp.StatusCode, "the attempt that ended the call")
	require.NoError(t, resp.Body.Close())
	assert.Len(t, dep.bodies, 1)
	assert.Equal(t, int32(1), dep.closed.Load())

	// WithResend allows it.
	dep = &dependency{statuses: []int{503, 200}}
	req, _ = http.NewRequest(http.MethodPost, "http://payments/charge", strings.NewReader("x"))
	resp, err = retrying(t, dep, httpguard.WithResend(func(*http.Request) bool { return true })).RoundTrip(req)
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	require.NoError(t, resp.Body.Close())
	assert.Len(t, dep.bodies, 2)
}

// A PUT whose body cannot be rewound (no GetBody) is sent once too.
func TestBodyWithoutGetBodyIsSentOnce(t *testing.T) {
	dep := &dependency{statuses: []int{500}}
	req, _ := http.NewRequest(http.MethodPut, "http://store/item", io.NopCloser(strings.NewReader("item")))
	require.Nil(t, req.GetBody)
	resp, err := retrying(t, dep).RoundTrip(req)
	require.NoError(t, err)
	assert.Equal(t, 500, resp.StatusCode)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, []string{"item"}, dep.bodies)
}

// Retry-After, in both of its forms, is the retry's wait.
func TestRetryAfterIsTheHint(t *testing.T) {
	for _, tc := range []struct {
		name     string
		value    func() string
		min, max time.Duration
	}{
		{"delay-seconds", func() string { return "2" }, 2 * time.Second, 2200 * time.Millisecond},
		{"HTTP-date", func() string { return time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat) }, 2 * time.Second, 3300 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				dep := &dependency{statuses: []int{429, 200}, header: http.Header{"Retry-After": {tc.value()}}}
				req, _ := http.NewRequest(http.MethodGet, "http://rates/", nil)
				resp, err := retrying(t, dep).RoundTrip(req)
				require.NoError(t, err)
				require.NoError(t, resp.Body.Close())
				require.Len(t, dep.sentAt, 2)
				wait := dep.sentAt[1].Sub(dep.sentAt[0])
				assert.GreaterOrEqual(t, wait, tc.min)
				assert.LessOrEqual(t, wait, tc.max)
			})
		})
	}
}

// What the policy sees as a failure by default: 429, 5xx but 501, and
// transport errors; and the hint on the StatusError.
func TestDefaultFailuresAndStatusError(t *testing.T) {
	for status, failure := range map[int]bool{200: false, 404: false, 429: true, 500: true, 501: false, 502: true, 503: true} {
		var seen error
		observe := policyFunc(func(ctx context.Context, fn func(context.Context) error) error {
			seen = fn(ctx)
			return seen
		})
		dep := &dependency{statuses: []int{status}, header: http.Header{"Retry-After": {"7"}}}
		tr, err := httpguard.Transport(dep, observe)
		require.NoError(t, err)
		req, _ := http.NewRequest(http.MethodGet, "http://x/", nil)
		resp, err := tr.RoundTrip(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		var se *httpguard.StatusError
		assert.Equal(t, failure, seen != nil, "status %d", status)
		if failure {
			require.ErrorAs(t, seen, &se)
			assert.Equal(t, status, se.StatusCode)
			if status == 429 || status == 503 {
				assert.Equal(t, 7*time.Second, se.RetryAfter)
			} else {
				assert.Zero(t, se.RetryAfter, "Retry-After counts on 429 and 503 only")
			}
		}
	}
}

func TestWithResendNil(t *testing.T) {
	_, err := httpguard.Transport(http.DefaultTransport, passThrough{}, httpguard.WithResend(nil))
	assert.EqualError(t, err, "httpguard: WithResend: resend is nil")
}

type passThrough struct{}

func (passThrough) Do(ctx context.Context, fn func(context.Context) error) error { return fn(ctx) }
