package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/eventstore/sqlite"
	"github.com/partyledger/partyledger/eventstore/synth"
)

// BenchmarkConsolePages10k is issue 12's speed target: on a synthetic log
// of 10k parties (100k events; 1M with PARTYLEDGER_BENCH_LARGE=1), each
// console page's server time against the JSON API calls that serve the
// same data, as the ratio of their medians (target: at most 2), and each
// page's weight (HTML plus the CSS and JS it loads; target: under 150 KB,
// checked). PARTYLEDGER_BENCH_DIR keeps the synthetic log between runs.
//
//	go test -run '^$' -bench ConsolePages10k -benchtime 20x ./cmd/partyledger/
func BenchmarkConsolePages10k(b *testing.B) {
	ctx := context.Background()
	o := synth.Options{Events: 100_000, Parties: 10_000, Reviews: 8}
	if os.Getenv("PARTYLEDGER_BENCH_LARGE") == "1" {
		o.Events = 1_000_000
	}
	o.Tail = 500 // changes since the last review
	dir := os.Getenv("PARTYLEDGER_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	cached, err := synth.File(ctx, dir, o, func(ctx context.Context, path string) (eventstore.Store, error) {
		return sqlite.Open(ctx, path, sqlite.Options{Synchronous: sqlite.SynchronousNormal})
	})
	if err != nil {
		b.Fatal(err)
	}
	db := filepath.Join(b.TempDir(), "partyledger.db")
	if err := copyFile(cached, db); err != nil {
		b.Fatal(err)
	}
	ts := MustRunServe(b, db, noLimits)
	c := consoleClient(b)
	fetch := func(path string, api bool) (time.Duration, []byte) {
		req, _ := http.NewRequest("GET", ts.URL+path, nil)
		if api {
			req.Header.Set("Authorization", "Bearer "+ts.Token)
		}
		start := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("%s: %d %v", path, resp.StatusCode, err)
		}
		return took, body
	}
	// Wait for the read model to catch up with the log.
	for deadline := time.Now().Add(10 * time.Minute); ; {
		resp, err := http.Get(ts.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			b.Fatal("the read model did not catch up in 10 minutes")
		}
		time.Sleep(500 * time.Millisecond)
	}
	MustSignIn(b, c, ts.URL, ts.Token)
	var reg struct {
		Parties []struct {
			ID string `json:"id"`
		} `json:"parties"`
	}
	_, body := fetch("/api/v1/register?limit=1", true)
	if err := json.Unmarshal(body, &reg); err != nil || len(reg.Parties) == 0 {
		b.Fatalf("no party in the register: %v %s", err, body)
	}
	pid := reg.Parties[0].ID
	var assets int
	for _, a := range []string{"/static/style.css", "/static/print.css", "/static/live.js"} {
		_, body := fetch(a, false)
		assets += len(body)
	}

	for _, p := range []struct {
		name, page string
		api        []string
	}{
		{"register", "/register", []string{"/api/v1/register?limit=50"}},
		{"party", "/parties/" + pid, []string{"/api/v1/parties/" + pid, "/api/v1/parties/" + pid + "/history"}},
		{"changes", "/changes", []string{"/api/v1/changes"}},
	} {
		b.Run(p.name, func(b *testing.B) {
			var page, api []time.Duration
			var weight int
			for b.Loop() {
				d, body := fetch(p.page, false)
				page, weight = append(page, d), len(body)+assets
				var sum time.Duration
				for _, a := range p.api {
					d, _ := fetch(a, true)
					sum += d
				}
				api = append(api, sum)
			}
			pm, am := median(page), median(api)
			b.ReportMetric(float64(pm.Microseconds()), "page-µs")
			b.ReportMetric(float64(am.Microseconds()), "api-µs")
			b.ReportMetric(float64(pm)/float64(am), "page/api")
			b.ReportMetric(float64(weight)/1024, "page-KB")
			if weight > 150<<10 {
				b.Errorf("%s weighs %d KB (HTML+CSS+JS), over 150 KB", p.page, weight>>10)
			}
		})
	}
}

// median returns the median of ds.
func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
