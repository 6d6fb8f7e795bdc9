package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// external is the third-party API the enrich endpoint calls: a real HTTP
// server on loopback that answers in a millisecond until it turns slow.
type external struct {
	url       string
	srv       *http.Server
	slow      atomic.Bool
	slowSince atomic.Int64 // UnixNano when it turned slow; 0 before
	slowness  time.Duration
	stop      chan struct{} // closed by stopWaiting: slow answers come at once
	stopOnce  sync.Once
}

func startExternal(slowness time.Duration) (*external, error) {
	e := &external{slowness: slowness, stop: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e.url = "http://" + ln.Addr().String()
	e.srv = &http.Server{Handler: http.HandlerFunc(e.price), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := e.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic(err)
		}
	}()
	return e, nil
}

// price answers with a price, after e.slowness once e is slow.
func (e *external) price(w http.ResponseWriter, r *http.Request) {
	wait := time.Millisecond
	if e.slow.Load() {
		wait = e.slowness
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-e.stop:
	case <-r.Context().Done():
		return
	}
	fmt.Fprintf(w, "%s: 12.50 EUR", r.URL.Query().Get("id"))
}

func (e *external) stopWaiting() { e.stopOnce.Do(func() { close(e.stop) }) }

func (e *external) close() {
	e.stopWaiting()
	_ = e.srv.Close()
}

// turnSlow makes every answer from now on slow, and notes when.
func (e *external) turnSlow() {
	if !e.slow.Swap(true) {
		e.slowSince.Store(time.Now().UnixNano())
	}
}
