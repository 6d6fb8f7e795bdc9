// Package browsertest drives the dashboard page in a real headless
// Chromium: a nested module, so that the root module stays standard
// library only. Its test checks the page as a user sees it; its command
// screenshot saves a picture of a running dashboard.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"

	"github.com/chromedp/chromedp"
)

// ChromiumPath finds the browser: $CHROMIUM, or chromium (Debian's
// package) or chromium-browser on $PATH.
func ChromiumPath() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no Chromium: install it (apt-get install -y chromium) or set $CHROMIUM to its path")
}

// Browser starts a headless Chromium with a fresh profile in dataDir and
// returns a context for its first tab. The flags keep it off the network:
// no background requests, updates, sync or QUIC, only what a page asks.
func Browser(path, dataDir string) (context.Context, context.CancelFunc) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // the tests run as root in CI
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(dataDir),
		chromedp.WindowSize(1280, 1000),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	return ctx, func() { cancel(); cancelAlloc() }
}
