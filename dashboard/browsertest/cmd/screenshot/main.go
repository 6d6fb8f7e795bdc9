// Command screenshot saves a PNG of a running dashboard once it shows
// trouble, as the README's picture of slowdep's incident was taken:
//
//	go -C examples run ./slowdep -addr 127.0.0.1:8089 &
//	go -C dashboard/browsertest run ./cmd/screenshot \
//		-url http://127.0.0.1:8089/debug/watertight/ -out ../../docs/dashboard.png
//
// It waits for the page to answer (the protected run starts after the
// unprotected one), then for a card to be refusing calls, then -after
// more (the page refreshing itself meanwhile), and shoots the whole page.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/watertight-go/watertight/dashboard/browsertest"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:8089/debug/watertight/", "the dashboard")
	out := flag.String("out", "dashboard.png", "where to write the PNG")
	wait := flag.Duration("wait", 2*time.Minute, "how long to wait for the page and for trouble on it")
	after := flag.Duration("after", 5*time.Second, "how long to let the page refresh once trouble shows, for its rates and charts")
	flag.Parse()
	if err := shoot(*url, *out, *wait, *after); err != nil {
		fmt.Fprintln(os.Stderr, "screenshot:", err)
		os.Exit(1)
	}
	fmt.Println("wrote", *out)
}

func shoot(url, out string, wait, after time.Duration) error {
	deadline := time.Now().Add(wait)
	for { // the unprotected run, on the same address, has no dashboard
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
			err = fmt.Errorf("%s: %s", url, resp.Status)
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
	path, err := browsertest.ChromiumPath()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "screenshot")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := browsertest.Browser(path, dir)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		return err
	}
	within, cancelWait := context.WithDeadline(ctx, deadline)
	defer cancelWait()
	if err := chromedp.Do(within, chromedp.WaitVisible(chromedp.CSS("#summary li.s-refusing"))); err != nil {
		return fmt.Errorf("no card refused calls in time: %w", err)
	}
	if err := chromedp.Do(ctx, chromedp.Sleep(after)); err != nil {
		return err
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return err
	}
	return os.WriteFile(out, png, 0o644)
}
