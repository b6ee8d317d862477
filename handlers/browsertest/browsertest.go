// Package browsertest starts the headless Chromium that the browser tests
// drive (the console's pages, the Mermaid check of the diagrams), so that
// every such test finds, skips or fails on Chromium the same way.
//
// Without Chromium the tests skip, except on CI (the CI environment
// variable set), where .ci/run installs it and its absence fails.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromiumPath finds Debian's chromium (or another Chrome on PATH). Without
// one it skips tb, or fails it when the CI environment variable is set.
func ChromiumPath(tb testing.TB) string {
	tb.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		tb.Fatal("chromium is not installed; .ci/run installs it (apt-get install chromium)")
	}
	tb.Skip("skipping the browser tests: chromium is not installed (apt-get install -y chromium)")
	return ""
}

// MustStart starts a headless Chromium for tb and returns a chromedp
// context that is cancelled (and the browser closed) when tb ends, or
// after timeout.
func MustStart(tb testing.TB, timeout time.Duration) context.Context {
	tb.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(ChromiumPath(tb)),
		chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU, chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, timeout)
	tb.Cleanup(func() { cancelT(); cancelB(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		tb.Fatalf("start chromium: %v", err)
	}
	return ctx
}
