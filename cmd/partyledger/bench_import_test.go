package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/eventstore/sqlite"
	"github.com/partyledger/partyledger/handlers/httpapi/client"
	"github.com/partyledger/partyledger/handlers/importer/importtest"
)

// BenchmarkImport10k imports a 10,000-row CSV (1,000 parties × 10
// requirements: 11,000 register events and 1,000 name claims) end to end:
// POST /api/v1/imports to the real server on loopback, into an empty
// register, until the answer (the import has been appended atomically and
// the read model has applied it). Each iteration gets a fresh server; only
// the request is timed. In the same run it measures the baseline: the same
// stored events appended to a fresh SQLite store in one AppendStreams
// call (what the import's atomic append costs the store alone). It reports
//
//	events     events the import appended
//	import-s   seconds per import
//	append-s   the baseline's seconds
//	x-append   import-s / append-s
//
//	go test -run '^$' -bench Import10k -benchtime 1x -count 3 ./cmd/partyledger/
func BenchmarkImport10k(b *testing.B) {
	data := importtest.RegisterCSV(1000, 10)
	ctx := context.Background()
	var total time.Duration
	var stored []eventstore.Event
	n := 0
	for b.Loop() {
		b.StopTimer()
		s := MustRunServe(b, "", unlimited)
		cl, err := client.New(s.URL, s.Token)
		if err != nil {
			b.Fatal(err)
		}
		before := eventCount(b, s.DB)
		b.StartTimer()
		t0 := time.Now()
		p, err := cl.Import(ctx, client.ImportRequest{Filename: "big.csv", File: data})
		total += time.Since(t0)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if p.Parties.Added != 1000 || p.Requirements.Added != 10000 {
			b.Fatalf("plan %+v", p.Parties)
		}
		if stored == nil {
			stored = readAllEvents(b, s.DB)[before:]
		}
		s.stop()
		n++
		b.StartTimer()
	}
	appendSecs := bulkAppendStreams(b, stored)
	perOp := total.Seconds() / float64(n)
	b.ReportMetric(float64(len(stored)), "events")
	b.ReportMetric(perOp, "import-s")
	b.ReportMetric(appendSecs, "append-s")
	b.ReportMetric(perOp/appendSecs, "x-append")
}

// readAllEvents reads the whole log of the database file.
func readAllEvents(tb testing.TB, db string) []eventstore.Event {
	tb.Helper()
	s, err := sqlite.Open(context.Background(), db, sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	var out []eventstore.Event
	for {
		evs, err := s.ReadAll(context.Background(), int64(len(out)), 5000)
		if err != nil {
			tb.Fatal(err)
		}
		if len(evs) == 0 {
			return out
		}
		out = append(out, evs...)
	}
}

// bulkAppendStreams appends evs, grouped by stream as stored, to a fresh
// SQLite store in one AppendStreams call and returns the seconds it took.
func bulkAppendStreams(tb testing.TB, evs []eventstore.Event) float64 {
	tb.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "bulk.db"), sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	idx := map[string]int{}
	var parts []eventstore.StreamAppend
	for _, ev := range evs {
		i, ok := idx[ev.Stream]
		if !ok {
			i = len(parts)
			idx[ev.Stream] = i
			parts = append(parts, eventstore.StreamAppend{Stream: ev.Stream})
		}
		ev.Position, ev.Version, ev.Hash, ev.PrevHash = 0, 0, "", ""
		parts[i].Events = append(parts[i].Events, ev)
	}
	t0 := time.Now()
	if _, err := s.AppendStreams(context.Background(), parts); err != nil {
		tb.Fatal(err)
	}
	return time.Since(t0).Seconds()
}
