package overload

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
)

// HTTP serves the dependency on a loopback port and calls it over HTTP:
// a GET whose answer is 200 (nil), 503 (ErrOverloaded) or an error.
func HTTP(d *Dependency) (attempt func(context.Context) error, stop func()) {
	srv := httptest.NewServer(d.Handler())
	tr := &http.Transport{MaxIdleConnsPerHost: 4096}
	client := &http.Client{Transport: tr}
	attempt = func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			return nil
		case http.StatusServiceUnavailable:
			return ErrOverloaded
		}
		return fmt.Errorf("dependency: %s", resp.Status)
	}
	return attempt, func() {
		d.Stop() // its handlers return, so that the server can close
		srv.Close()
		tr.CloseIdleConnections()
	}
}
