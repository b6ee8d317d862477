// Package load is partyledger's HTTP load generator: concurrent clients
// sending reads and durable writes to a running server, with throughput and
// latency percentiles per kind. cmd/plload is its command line; the
// benchmarks in cmd/partyledger run it against an in-process server.
//
// # Workload
//
// [Setup] identifies Parties parties, each with one requirement, through the
// API. [Run] first records a management review, so the change feed since the
// last review holds only what the run writes, then sends requests. A read
// is, in turn: one party with its requirements (GET /parties/{id}, 6 of 10
// reads), the register filtered by category (GET /register?category=...),
// the change feed since the last management review (GET /changes) and the
// party list (GET /parties), 1 of 10 reads each. A write is a revision of a
// party (PATCH /parties/{id}, 2 of 3 writes) or of its requirement (PATCH
// /parties/{id}/requirements/{rid}); writes change descriptions only, so
// what reads return does not grow from one run to the next. Each client
// writes only to its own parties, so writes do not conflict. A write is
// answered only once its event is committed with synchronous=FULL and
// applied to the read model, so every write measured is durable.
package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a load run.
type Config struct {
	// BaseURL is the server, such as http://127.0.0.1:8080.
	BaseURL string
	// Token is a bearer token with the editor or admin role.
	Token string
	// Clients is the number of concurrent clients (default 64).
	Clients int
	// Duration bounds the run (default 10 s).
	Duration time.Duration
	// Requests bounds the run by the number of requests (0: no bound).
	Requests int
	// WriteRatio is the share of requests that are writes, 0 to 1.
	WriteRatio float64
	// Parties is how many parties Setup creates (default 2 per client).
	Parties int
	// HTTPClient sends the requests (default: a client with keep-alive
	// connections for every client).
	HTTPClient *http.Client
	// PartyReadsOnly makes every read a one-party GET (GET
	// /parties/{id}) instead of the mix.
	PartyReadsOnly bool
}

func (c *Config) defaults() {
	if c.Clients < 1 {
		c.Clients = 64
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.Parties < 1 {
		c.Parties = 2 * c.Clients
	}
	c.Parties = max(c.Parties, c.Clients) // every client owns at least one party
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{
			Timeout:   30 * time.Second,
			Transport: &http.Transport{MaxIdleConns: c.Clients * 2, MaxIdleConnsPerHost: c.Clients * 2},
		}
	}
	c.BaseURL = strings.TrimSuffix(c.BaseURL, "/")
}

// Fixture is what Setup created: the parties the run reads and writes, and
// the requirement of each (Requirements[i] belongs to Parties[i]).
type Fixture struct {
	Parties      []string
	Requirements []string
}

// Stats summarises one kind of request.
type Stats struct {
	Requests int           // answered with 2xx
	Errors   int           // failed or answered with another status
	PerSec   float64       // Requests per second of the run
	P50, P99 time.Duration // latency of the 2xx answers
	Max      time.Duration
	// FirstError describes the first error, if any.
	FirstError string
}

// Result is the outcome of [Run].
type Result struct {
	Elapsed       time.Duration
	Reads, Writes Stats
}

// String renders the result as a small table.
func (r Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-6s %10s %8s %12s %10s %10s %10s\n", "kind", "requests", "errors", "per second", "p50", "p99", "max")
	for _, k := range []struct {
		name string
		s    Stats
	}{{"read", r.Reads}, {"write", r.Writes}} {
		fmt.Fprintf(&b, "%-6s %10d %8d %12.0f %10s %10s %10s\n", k.name, k.s.Requests, k.s.Errors, k.s.PerSec,
			round(k.s.P50), round(k.s.P99), round(k.s.Max))
	}
	fmt.Fprintf(&b, "elapsed %s\n", r.Elapsed.Round(time.Millisecond))
	for _, k := range []Stats{r.Reads, r.Writes} {
		if k.FirstError != "" {
			fmt.Fprintf(&b, "first error: %s\n", k.FirstError)
		}
	}
	return b.String()
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// Setup creates cfg.Parties parties, each with one requirement, using
// cfg.Clients concurrent requests. Names carry a random run id so Setup can
// run again against the same server.
func Setup(ctx context.Context, cfg Config) (*Fixture, error) {
	cfg.defaults()
	run := fmt.Sprintf("%06x", rand.Uint32()&0xffffff)
	fx := &Fixture{Parties: make([]string, cfg.Parties), Requirements: make([]string, cfg.Parties)}
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, cfg.Clients)
	for range cfg.Clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= cfg.Parties {
					return
				}
				var p struct {
					ID string `json:"id"`
				}
				body := map[string]any{"name": fmt.Sprintf("Load %s %05d", run, i), "category": categories[i%len(categories)],
					"scope": []string{"internal", "external"}[i%2], "owner": "CISO", "influence": 1 + i%5, "interest": 1 + (i/5)%5}
				if err := cfg.send(ctx, "POST", "/api/v1/parties", body, http.StatusCreated, &p); err != nil {
					errc <- fmt.Errorf("setup: %w", err)
					return
				}
				fx.Parties[i] = p.ID
				req := map[string]any{"kind": "requirement", "title": "Baseline requirement", "source_type": "contract",
					"source_ref": "MSA §7.2", "priority": "medium"}
				var r struct {
					ID string `json:"id"`
				}
				if err := cfg.send(ctx, "POST", "/api/v1/parties/"+p.ID+"/requirements", req, http.StatusCreated, &r); err != nil {
					errc <- fmt.Errorf("setup: %w", err)
					return
				}
				fx.Requirements[i] = r.ID
			}
		})
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return nil, err
	}
	return fx, nil
}

// holdReview records a management review.
func (cfg *Config) holdReview(ctx context.Context) error {
	review := map[string]any{"held_on": time.Now().UTC().Format(time.DateOnly), "title": "Load test review",
		"attendees": []string{"CISO"}}
	return cfg.send(ctx, "POST", "/api/v1/management-reviews", review, http.StatusCreated, nil)
}

var categories = []string{"customer", "supplier", "partner", "regulator", "employee"}

// Run records a management review, then drives the load until
// cfg.Duration has passed, cfg.Requests have been sent, or ctx is done, and
// returns the statistics. It fails only if the configuration is unusable or
// the review cannot be recorded; request errors are counted in the result.
func Run(ctx context.Context, cfg Config, fx *Fixture) (Result, error) {
	cfg.defaults()
	if fx == nil || len(fx.Parties) < cfg.Clients || len(fx.Requirements) != len(fx.Parties) {
		return Result{}, errors.New("load: run Setup first (one party per client at least)")
	}
	if err := cfg.holdReview(ctx); err != nil {
		return Result{}, fmt.Errorf("load: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	var sent atomic.Int64
	type clientStats struct {
		reads, writes       []time.Duration
		readErrs, writeErrs int
		readErr, writeErr   string
	}
	all := make([]clientStats, cfg.Clients)
	start := time.Now()
	var wg sync.WaitGroup
	for c := range cfg.Clients {
		wg.Go(func() {
			st := &all[c]
			rng := rand.New(rand.NewPCG(uint64(c), uint64(start.UnixNano())))
			var own []int
			for i := c; i < len(fx.Parties); i += cfg.Clients {
				own = append(own, i)
			}
			for n := 0; ctx.Err() == nil; n++ {
				if cfg.Requests > 0 && sent.Add(1) > int64(cfg.Requests) {
					return
				}
				write := rng.Float64() < cfg.WriteRatio
				t0 := time.Now()
				var err error
				if write {
					err = cfg.write(ctx, rng, fx, own, c, n)
				} else {
					err = cfg.read(ctx, rng, fx.Parties)
				}
				took := time.Since(t0)
				if ctx.Err() != nil && err != nil {
					return // cut short by the deadline: not an error of the server
				}
				switch {
				case write && err == nil:
					st.writes = append(st.writes, took)
				case write:
					if st.writeErrs++; st.writeErr == "" {
						st.writeErr = err.Error()
					}
				case err == nil:
					st.reads = append(st.reads, took)
				default:
					if st.readErrs++; st.readErr == "" {
						st.readErr = err.Error()
					}
				}
			}
		})
	}
	wg.Wait()
	res := Result{Elapsed: time.Since(start)}
	var reads, writes []time.Duration
	for _, st := range all {
		reads, writes = append(reads, st.reads...), append(writes, st.writes...)
		res.Reads.Errors += st.readErrs
		res.Writes.Errors += st.writeErrs
		if res.Reads.FirstError == "" {
			res.Reads.FirstError = st.readErr
		}
		if res.Writes.FirstError == "" {
			res.Writes.FirstError = st.writeErr
		}
	}
	res.Reads.summarise(reads, res.Elapsed)
	res.Writes.summarise(writes, res.Elapsed)
	return res, nil
}

func (s *Stats) summarise(lat []time.Duration, elapsed time.Duration) {
	s.Requests = len(lat)
	s.PerSec = float64(len(lat)) / elapsed.Seconds()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	s.P50, s.P99, s.Max = Percentile(lat, 50), Percentile(lat, 99), lat[len(lat)-1]
}

// Percentile returns the p-th percentile (nearest rank) of sorted.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// read sends one read request of the mix.
func (cfg *Config) read(ctx context.Context, rng *rand.Rand, parties []string) error {
	if cfg.PartyReadsOnly {
		return cfg.send(ctx, "GET", "/api/v1/parties/"+parties[rng.IntN(len(parties))], nil, http.StatusOK, nil)
	}
	switch k := rng.IntN(10); {
	case k < 6:
		return cfg.send(ctx, "GET", "/api/v1/parties/"+parties[rng.IntN(len(parties))], nil, http.StatusOK, nil)
	case k == 6:
		return cfg.send(ctx, "GET", "/api/v1/register?category="+categories[rng.IntN(len(categories))], nil, http.StatusOK, nil)
	case k == 7:
		return cfg.send(ctx, "GET", "/api/v1/changes", nil, http.StatusOK, nil)
	default:
		return cfg.send(ctx, "GET", "/api/v1/parties", nil, http.StatusOK, nil)
	}
}

// write sends one durable write of the mix to one of the client's parties.
func (cfg *Config) write(ctx context.Context, rng *rand.Rand, fx *Fixture, own []int, c, n int) error {
	i := own[rng.IntN(len(own))]
	body := map[string]any{"description": fmt.Sprintf("revision %d of client %d", n, c),
		"reason": "load test", "trigger": "periodic_review"}
	if rng.IntN(3) < 2 {
		return cfg.send(ctx, "PATCH", "/api/v1/parties/"+fx.Parties[i], body, http.StatusOK, nil)
	}
	return cfg.send(ctx, "PATCH", "/api/v1/parties/"+fx.Parties[i]+"/requirements/"+fx.Requirements[i], body, http.StatusOK, nil)
}

// send makes one request and checks its status; out, if not nil, receives
// the JSON answer. The body is always read to the end so the connection is
// reused.
func (cfg *Config) send(ctx context.Context, method, path string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, cfg.BaseURL+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+cfg.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := cfg.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d, want %d: %.200s", method, path, resp.StatusCode, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}
