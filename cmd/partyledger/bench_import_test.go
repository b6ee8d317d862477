package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/eventstore/sqlite"
	"github.com/partyledger/partyledger/handlers/httpapi/client"
)

// importCSV is a register of parties×reqs rows in the usual template: the
// party's columns repeated on each of its requirement rows.
func importCSV(parties, reqs int) []byte {
	var b bytes.Buffer
	b.WriteString("Interested party;Type;Category;Influence;Interest;Needs and expectations;Kind;Source type;Source;Addressed;How addressed;Owner;Priority;Next review\r\n")
	levels := []string{"Low", "Medium", "High"}
	for p := range parties {
		for q := range reqs {
			fmt.Fprintf(&b, "Party %04d;%s;%s;%s;%d;Requirement %02d of party %04d;%s;contract;MSA §%d.%d;%s;Control set %d;Owner %d;%s;%02d/%02d/2026\r\n",
				p, []string{"Internal", "External"}[p%2], domain.Categories[p%len(domain.Categories)], levels[p%3], 1+p%5,
				q, p, domain.Kinds[q%2], p, q, []string{"Yes", "No", ""}[q%3], q, p%50, domain.Priorities[q%4], 1+q%28, 1+p%12)
		}
	}
	return b.Bytes()
}

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
	data := importCSV(1000, 10)
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
