package httpguard_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/watertight-go/watertight"
	"github.com/watertight-go/watertight/breaker"
	"github.com/watertight-go/watertight/bulkhead"
	"github.com/watertight-go/watertight/httpguard"
	"github.com/watertight-go/watertight/retry"
	"github.com/watertight-go/watertight/timeout"
)

// Handler turns a refusal into 503 with Retry-After: here the breaker in
// front of the endpoint is open.
func ExampleHandler() {
	reports := breaker.MustNew(breaker.Config{Name: "reports", WindowCalls: 1, OpenBackoff: backoff.NewConstantBackOff(30 * time.Second)})
	_ = reports.Do(context.Background(), func(context.Context) error { return errors.New("db down") })

	h, err := httpguard.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "report")
	}), reports)
	if err != nil {
		fmt.Println(err)
		return
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/report", nil))
	fmt.Println(rec.Code, rec.Header().Get("Retry-After"), rec.Body.String())
	// Output:
	// 503 30 Service Unavailable
}

// Transport guards outbound calls: a bounded number at once, each with a
// deadline that reaches the connection, behind a breaker that counts 5xx.
func ExampleTransport() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"rate": 1.08}`)
	}))
	defer api.Close()

	rt, err := httpguard.Transport(http.DefaultTransport, watertight.Chain(
		breaker.MustNew(breaker.Config{Name: "fx"}),
		bulkhead.MustNew(bulkhead.Config{Name: "fx", MaxConcurrent: 8}),
		timeout.MustNew(timeout.Config{Name: "fx", Duration: 2 * time.Second}),
	))
	if err != nil {
		fmt.Println(err)
		return
	}
	client := &http.Client{Transport: rt}
	resp, err := client.Get(api.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output:
	// 200 {"rate": 1.08}
}

// PerHost gives each destination host its own bulkhead, so that one slow
// host cannot take every connection slot.
func ExamplePerHost() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "pong") }))
	defer api.Close()

	hosts, err := httpguard.PerHost(http.DefaultTransport, func(host string) (watertight.Policy, error) {
		return bulkhead.New(bulkhead.Config{Name: host, MaxConcurrent: 4})
	}, httpguard.HostsConfig{MaxHosts: 100})
	if err != nil {
		fmt.Println(err)
		return
	}
	client := &http.Client{Transport: hosts}
	for range 3 {
		resp, err := client.Get(api.URL)
		if err != nil {
			fmt.Println(err)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	for _, h := range hosts.Stats() {
		st := h.Policy.(*bulkhead.Bulkhead).Stats()
		fmt.Println("acquired:", st.Acquired, "in flight:", h.InFlight)
	}
	// Output:
	// acquired: 3 in flight: 0
}

// WriteError answers for an outbound call that the handler makes itself:
// Handler maps only its own policy's errors, so a refusal of the call
// inside is the handler's to turn into 503.
func ExampleWriteError() {
	rates := bulkhead.MustNew(bulkhead.Config{Name: "rates", MaxConcurrent: 1})
	release, _ := rates.Acquire(context.Background()) // every slot is taken
	defer release()

	quote := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rate, err := watertight.Call(r.Context(), rates, func(ctx context.Context) (float64, error) {
			return 1.08, nil // the outbound call
		})
		if httpguard.WriteError(w, err) {
			return // 503 with Retry-After, or 504
		}
		if err != nil {
			http.Error(w, "rates failed", http.StatusBadGateway)
			return
		}
		fmt.Fprintf(w, "%.2f\n", rate)
	})
	rec := httptest.NewRecorder()
	quote.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/quote", nil))
	fmt.Println(rec.Code, rec.Header().Get("Retry-After"))
	// Output:
	// 503 1
}

// A retry inside Transport: each attempt is a fresh send, the failed
// attempt's response is closed, and the dependency's Retry-After is the
// wait.
func ExampleTransport_retry() {
	var calls atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, `{"rate": 1.08}`)
	}))
	defer api.Close()

	rt, err := httpguard.Transport(http.DefaultTransport, watertight.Chain(
		retry.MustNew(retry.Config{Name: "fx"}),
		timeout.MustNew(timeout.Config{Name: "fx-attempt", Duration: time.Second}),
	))
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := (&http.Client{Transport: rt}).Get(api.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body), "after", calls.Load(), "attempts")
	// Output:
	// 200 {"rate": 1.08} after 2 attempts
}
