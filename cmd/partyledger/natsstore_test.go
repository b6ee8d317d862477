package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/partyledger/partyledger/eventstore/jetstream/embedded"
)

// MustRunNATS starts an embedded NATS server with JetStream (fsync on every
// write, monitoring on) on random loopback ports for the test.
func MustRunNATS(tb testing.TB) *server.Server {
	tb.Helper()
	s, err := embedded.Start(embedded.Config{StoreDir: tb.TempDir(), Port: -1, MonitorPort: -1, SyncAlways: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

// onNATS makes serve use the JetStream store on srv, under the durable
// profile checked through srv's monitoring endpoint.
func onNATS(srv *server.Server) func(*serveConfig) {
	return func(c *serveConfig) {
		c.store.nats = natsFlags{store: storeNATS, urls: srv.ClientURL(), stream: "PARTYLEDGER",
			durability: "durable", monitor: "http://" + srv.MonitorAddr().String()}
	}
}

// TestTwoReplicasOnOneJetStream runs two serve replicas, each with its own
// local files (read model), on one JetStream, sharing tokens. A write on A shows on
// B within a bound (measured, and logged), and two concurrent writes to
// the same party, one on A and one on B, never both win: one is 200, the
// other 409, and no update is lost.
func TestTwoReplicasOnOneJetStream(t *testing.T) {
	srv := MustRunNATS(t)
	a := MustRunServe(t, filepath.Join(t.TempDir(), "a.db"), onNATS(srv))
	b := MustRunServe(t, filepath.Join(t.TempDir(), "b.db"), onNATS(srv))
	// The tokens are shared: the first replica printed the one admin
	// token, which the second accepts.
	if a.Token == "" || b.Token != "" {
		t.Fatalf("admin tokens printed: A %t, B %t; want only A's", a.Token != "", b.Token != "")
	}
	b = b.as(a.Token)

	// Replication lag: create on A, poll B.
	const bound = 5 * time.Second
	var lags []time.Duration
	var ids []string
	for i := range 20 {
		var p party
		start := time.Now()
		mustStatus(t, a.do(t, "POST", "/api/v1/parties", map[string]any{"name": fmt.Sprintf("Supplier %d", i),
			"category": "supplier", "scope": "external"}, &p), http.StatusCreated)
		created := time.Now()
		for {
			resp := b.do(t, "GET", "/api/v1/parties/"+p.ID, nil, nil)
			if resp.StatusCode == http.StatusOK {
				break
			}
			if time.Since(created) > bound {
				t.Fatalf("party %s created on A at %s not visible on B after %s", p.ID, created.Sub(start), bound)
			}
			time.Sleep(time.Millisecond)
		}
		lags = append(lags, time.Since(created))
		ids = append(ids, p.ID)
	}
	slices.Sort(lags)
	t.Logf("write on A visible on B after: median %s, max %s (bound %s, %d writes)", lags[len(lags)/2], lags[len(lags)-1], bound, len(lags))

	// Concurrent writes to one party on A and B.
	id := ids[0]
	var p party
	mustStatus(t, b.do(t, "GET", "/api/v1/parties/"+id, nil, &p), http.StatusOK)
	version := p.Version
	conflicts := 0
	for round := 0; round < 40 && conflicts < 3; round++ {
		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			results [2]int
		)
		for i, s := range []*testServer{a, b} {
			wg.Go(func() {
				<-start
				resp := s.do(t, "PATCH", "/api/v1/parties/"+id, map[string]any{"influence": 1 + (round+i)%5,
					"interest": 1 + (round+2*i)%5, "reason": fmt.Sprintf("round %d from replica %d", round, i), "trigger": "other"}, nil)
				results[i] = resp.StatusCode
			})
		}
		close(start)
		wg.Wait()
		wins := 0
		for i, code := range results {
			switch code {
			case http.StatusOK:
				wins++
			case http.StatusConflict:
				conflicts++
			default:
				t.Fatalf("round %d: replica %d answered %d, want 200 or 409", round, i, code)
			}
		}
		if wins == 0 {
			t.Fatalf("round %d: both writes refused (%v), want exactly one to win", round, results)
		}
		version += int64(wins)
		// No lost update: the party's version counts every 200, on both
		// replicas once they have caught up.
		for _, s := range []*testServer{a, b} {
			deadline := time.Now().Add(bound)
			for {
				var got party
				mustStatus(t, s.do(t, "GET", "/api/v1/parties/"+id, nil, &got), http.StatusOK)
				if got.Version == version {
					break
				}
				if got.Version > version || time.Now().After(deadline) {
					t.Fatalf("round %d (%v): %s shows version %d, want %d", round, results, s.URL, got.Version, version)
				}
				time.Sleep(2 * time.Millisecond)
			}
		}
	}
	if conflicts == 0 {
		t.Fatal("40 rounds of concurrent writes on A and B never conflicted; the test did not test the race")
	}
	t.Logf("concurrent writes: %d conflicts (409) answered, party at version %d", conflicts, version)

	// Each replica verifies the shared log under the JetStream store's
	// rules (a chain per stream).
	for _, s := range []*testServer{a, b} {
		var res struct {
			OK     bool  `json:"ok"`
			Events int64 `json:"events"`
		}
		mustStatus(t, s.do(t, "GET", "/api/v1/audit/verify", nil, &res), http.StatusOK)
		if !res.OK || res.Events < int64(len(ids)) {
			t.Errorf("%s: verify %+v, want ok over every event", s.URL, res)
		}
	}

	// A stale If-Match is refused as on SQLite.
	var pr problem
	resp := a.do(t, "PATCH", "/api/v1/parties/"+id, map[string]any{"influence": 3, "reason": "stale", "trigger": "other"}, &pr,
		"If-Match", `"1"`)
	if resp.StatusCode != http.StatusPreconditionFailed {
		t.Errorf("stale If-Match: %d, want 412", resp.StatusCode)
	}
}

// TestServeRefusesUndurableNATS starts serve on a JetStream server that
// does not fsync every write: the durable profile refuses with a message
// that says why, and the dev profile starts.
func TestServeRefusesUndurableNATS(t *testing.T) {
	s, err := embedded.Start(embedded.Config{StoreDir: t.TempDir(), Port: -1, MonitorPort: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() }) // after serve stops
	cfg := serveConfig{store: storeFlags{db: filepath.Join(t.TempDir(), "x.db")}, addr: "127.0.0.1:0", logFormat: "text", logLevel: "error"}
	onNATS(s)(&cfg)
	err = runServe(t.Context(), cfg, &syncBuffer{}, &syncBuffer{})
	if err == nil || !strings.Contains(err.Error(), "sync_interval is") || !strings.Contains(err.Error(), "refusing to start") {
		t.Fatalf("serve on a server without sync_interval: always: %v, want a refusal that says why", err)
	}
	cfg.store.nats.monitor = ""
	err = runServe(t.Context(), cfg, &syncBuffer{}, &syncBuffer{})
	if err == nil || !strings.Contains(err.Error(), "no way to check") {
		t.Fatalf("serve without --nats-monitor under the durable profile: %v, want a refusal", err)
	}
	MustRunServe(t, cfg.store.db, func(c *serveConfig) {
		onNATS(s)(c)
		c.store.nats.durability = "dev"
	})
}

// TestServeEmbeddedNATS runs serve --store embedded-nats: the event log in
// a JetStream server inside the process, storage beside the database.
func TestServeEmbeddedNATS(t *testing.T) {
	db := filepath.Join(t.TempDir(), "pl.db")
	s := MustRunServe(t, db, func(c *serveConfig) {
		c.store.nats = natsFlags{store: storeEmbeddedNATS, listen: "127.0.0.1:0", stream: "PARTYLEDGER", durability: "durable"}
	})
	var p party
	mustStatus(t, s.do(t, "POST", "/api/v1/parties", map[string]any{"name": "Regulator", "category": "regulator", "scope": "external"}, &p), http.StatusCreated)
	mustStatus(t, s.do(t, "GET", "/api/v1/parties/"+p.ID, nil, nil), http.StatusOK)
	s.stop()
	// Restarted on the same directory, the log is still there.
	s2 := MustRunServe(t, db, func(c *serveConfig) {
		c.store.nats = natsFlags{store: storeEmbeddedNATS, listen: "127.0.0.1:0", stream: "PARTYLEDGER", durability: "durable"}
	})
	s2.Token = s.Token
	mustStatus(t, s2.do(t, "GET", "/api/v1/parties/"+p.ID, nil, nil), http.StatusOK)
}
