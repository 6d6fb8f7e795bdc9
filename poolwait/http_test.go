package poolwait_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/watertight-go/watertight/poolwait"
)

func TestConnWaitsMeasuresTheCheckoutBehindASlowRequest(t *testing.T) {
	first := make(chan struct{})
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(first)
			<-release
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	tr := &http.Transport{MaxConnsPerHost: 1}
	defer tr.CloseIdleConnections()

	waits := poolwait.NewConnWaits()
	rt, err := waits.Transport(tr)
	require.NoError(t, err)
	c := &http.Client{Transport: rt}

	slowDone := make(chan struct{})
	go func() {
		defer close(slowDone)
		resp, err := c.Get(srv.URL + "/slow")
		if assert.NoError(t, err) {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	<-first // the only connection is busy

	// The second request asks for a connection and has to wait for it;
	// release the slow one only once it is waiting.
	asked := make(chan struct{})
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/fast", nil)
	require.NoError(t, err)
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		GetConn: func(string) { close(asked) },
	}))
	go func() { <-asked; close(release) }()
	resp, err := c.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	<-slowDone

	st := waits.Stats()
	require.Len(t, st, 1)
	assert.Equal(t, srv.Listener.Addr().String(), st[0].Host)
	assert.Equal(t, uint64(2), st[0].Wait.Count)
	assert.Positive(t, st[0].Wait.Max, "the second request waited for the connection")
	assert.Equal(t, uint64(1), st[0].New)
	assert.Equal(t, uint64(1), st[0].Reused, "and then reused it")
}

func TestConnWaitsTransportNil(t *testing.T) {
	_, err := poolwait.NewConnWaits().Transport(nil)
	assert.EqualError(t, err, "poolwait: ConnWaits.Transport: next is nil")
}
