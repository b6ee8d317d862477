package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partyledger/partyledger/cmd/internal/load"
)

// BenchmarkWritePath measures the write path of issue 16 from outside: the
// real server in-process on loopback, 64 concurrent keep-alive clients, and
// in the same run the raw a1 baseline of [startRawServer] (one INSERT per
// request in its own synchronous=FULL transaction) driven by the same
// client. Sub-benchmarks:
//
//   - creates: POST /parties with new names (each claims its name's
//     reservation stream in the same atomic append);
//   - revise-10 and revise-300: PATCH /parties/{id} on 128 parties whose
//     streams were first grown to about 10 or 300 events (the fold cache
//     makes the cost flat in stream length).
//
// Each reports req/s, p50-ms, p99-ms and x-raw (rate over the raw a1 rate).
//
//	go test -run '^$' -bench WritePath -benchtime 4000x -count 3 ./cmd/partyledger/
func BenchmarkWritePath(b *testing.B) {
	const clients = 64
	raw := startRawServer(b)
	for _, k := range []struct {
		name   string
		stream int // events per party stream before the run; 0: creates
	}{{"creates", 0}, {"revise-10", 10}, {"revise-300", 300}} {
		b.Run(k.name, func(b *testing.B) {
			b.StopTimer()
			s := MustRunServe(b, "", unlimited)
			c := &benchClient{base: s.URL, token: s.Token, http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}}
			var parties []string
			if k.stream > 0 {
				parties = c.seed(b, 128, k.stream, clients)
			}
			var seq atomic.Int64
			req := func(base string) func(int) (string, string, any, int) {
				return func(client int) (string, string, any, int) {
					n := seq.Add(1)
					if k.stream == 0 {
						return "POST", base + "/api/v1/parties", map[string]any{"name": fmt.Sprintf("Party %d-%d", time.Now().UnixNano(), n),
							"category": "customer", "scope": "external", "reason": "bench"}, http.StatusCreated
					}
					// Each client revises parties of its own, as a user
					// would: two writers on one party meet at the store as
					// a 409 (see TestStaleCacheConcurrentWriter).
					id := parties[(client+clients*int(n%2))%len(parties)]
					return "PATCH", base + "/api/v1/parties/" + id, map[string]any{"description": fmt.Sprintf("revision %d", n), "reason": "bench"}, http.StatusOK
				}
			}
			rawSt := c.run(b, clients, b.N, req(raw))
			b.StartTimer()
			st := c.run(b, clients, b.N, req(s.URL))
			b.StopTimer()
			b.ReportMetric(st.PerSec, "req/s")
			b.ReportMetric(float64(st.P50)/1e6, "p50-ms")
			b.ReportMetric(float64(st.P99)/1e6, "p99-ms")
			b.ReportMetric(rawSt.PerSec, "raw-req/s")
			b.ReportMetric(st.PerSec/rawSt.PerSec, "x-raw")
			s.stop()
		})
	}
}

// benchClient sends JSON requests with a token.
type benchClient struct {
	base, token string
	http        *http.Client
}

func (c *benchClient) send(method, url string, body any, want int, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d, want %d: %s", method, url, resp.StatusCode, want, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// run sends n requests from clients goroutines and returns the rate and
// latencies. Any failed request fails the benchmark.
func (c *benchClient) run(b *testing.B, clients, n int, next func(client int) (method, url string, body any, want int)) load.Stats {
	b.Helper()
	var left atomic.Int64
	left.Store(int64(n))
	lats := make([][]time.Duration, clients)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	start := time.Now()
	for i := range clients {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				m, u, body, want := next(i)
				t0 := time.Now()
				if err := c.send(m, u, body, want, nil); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				lats[i] = append(lats[i], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := firstErr.Load(); err != nil {
		b.Fatal(err)
	}
	all := slices.Concat(lats...)
	slices.Sort(all)
	return load.Stats{Requests: len(all), PerSec: float64(len(all)) / elapsed.Seconds(),
		P50: load.Percentile(all, 50), P99: load.Percentile(all, 99)}
}

// seed creates parties and grows each stream to about events events.
func (c *benchClient) seed(b *testing.B, parties, events, clients int) []string {
	b.Helper()
	ids := make([]string, parties)
	for i := range ids {
		var p struct {
			ID string `json:"id"`
		}
		if err := c.send("POST", c.base+"/api/v1/parties", map[string]any{"name": fmt.Sprintf("Seed %d %d", time.Now().UnixNano(), i),
			"category": "customer", "scope": "external", "reason": "seed"}, http.StatusCreated, &p); err != nil {
			b.Fatal(err)
		}
		ids[i] = p.ID
	}
	var seq atomic.Int64
	c.run(b, clients, parties*(events-1), func(client int) (string, string, any, int) {
		n := seq.Add(1)
		return "PATCH", c.base + "/api/v1/parties/" + ids[(client+clients*int(n%2))%parties], map[string]any{"description": fmt.Sprintf("seed %d", n), "reason": "seed"}, http.StatusOK
	})
	return ids
}
