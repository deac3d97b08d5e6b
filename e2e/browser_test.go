package e2e

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/threatcov/threatcov/internal/testenv"
)

// chromium finds the browser, or skips (fails under CI) with what to do.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("THREATCOV_CHROMIUM"); p != "" {
		return p
	}
	return testenv.LookPath(t, "the browser tests need headless Chromium: run scripts/e2e-deps.sh (Debian packages chromium, chromium-driver) or set THREATCOV_CHROMIUM to the browser",
		"chromium", "chromium-browser", "google-chrome")
}

// newBrowser starts headless Chromium with a fresh profile and a 1400x1000 window, and returns
// a tab's context, cancelled (browser stopped) when the test ends or after timeout.
func newBrowser(t *testing.T, browser string, timeout time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(browser),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancel()
	})
	return bctx
}
