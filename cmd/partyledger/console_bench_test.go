package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/partyledger/partyledger/handlers/demo"
)

// BenchmarkConsolePages compares each console page's server time with the
// JSON API call that serves the same data, on the example organisation,
// and reports the ratio (target: at most 2).
func BenchmarkConsolePages(b *testing.B) {
	path := filepath.Join(b.TempDir(), "demo.db")
	ctx := context.Background()
	a, err := openApp(ctx, storeFlags{db: path}, newLogger(io.Discard, "text", "error"), true)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := demo.Load(ctx, a.commands, "demo", nil); err != nil {
		b.Fatal(err)
	}
	a.Close()
	ts := MustRunServe(b, path, func(c *serveConfig) { c.rateLimit = 0 })
	c := consoleClient(b)
	MustSignIn(b, c, ts.URL, ts.Token)
	get := func(path string, api bool) time.Duration {
		req, _ := http.NewRequest("GET", ts.URL+path, nil)
		if api {
			req.Header.Set("Authorization", "Bearer "+ts.Token)
		}
		start := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("%s: %d", path, resp.StatusCode)
		}
		return time.Since(start)
	}
	for _, p := range []struct{ name, page, api string }{
		{"register", "/register", "/api/v1/register"},
		{"changes", "/changes", "/api/v1/changes"},
		{"reviews", "/reviews", "/api/v1/management-reviews"},
	} {
		b.Run(p.name, func(b *testing.B) {
			var page, api time.Duration
			for b.Loop() {
				page += get(p.page, false)
				api += get(p.api, true)
			}
			b.ReportMetric(float64(page.Nanoseconds())/float64(b.N), "page-ns/op")
			b.ReportMetric(float64(api.Nanoseconds())/float64(b.N), "api-ns/op")
			b.ReportMetric(float64(page)/float64(api), "page/api")
		})
	}
}
