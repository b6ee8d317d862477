package importer

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/partyledger/partyledger/eventstore/sqlite"
	"github.com/partyledger/partyledger/handlers/importer/importtest"
)

// BenchmarkPlan10k reads and plans a 10,000-row CSV (1,000 parties with 10
// requirements each, 11,000 events): into an empty register ("new") and
// again once it is loaded ("reimport", 0 events). Once per sub-benchmark it
// also measures the baseline the issue asks for: a bulk append of the same
// events to the SQLite store (one Append per party stream, 16 appenders, so
// that the store's group commit batches them), and reports
//
//	events      events the plan decided
//	append-s    the baseline's seconds
//	x-append    one read+plan divided by the baseline
//
// Run: go test -run '^$' -bench Plan10k -benchtime=3x -count=3 ./handlers/importer/
func BenchmarkPlan10k(b *testing.B) {
	data := importtest.RegisterCSV(1000, 10)
	reg := newRegister()
	first := MustPlan(b, reg, MustReadBytes(b, data, Input{Filename: "big.csv"}), testOptions())
	if len(first.Errors) != 0 || first.Events() != 11000 {
		b.Fatalf("plan: %d events, errors %v", first.Events(), first.Errors[:min(3, len(first.Errors))])
	}
	appendSecs := bulkAppend(b, first)
	run := func(b *testing.B, reg *memRegister, wantEvents int) {
		var events int
		b.ResetTimer()
		for b.Loop() {
			tb := MustReadBytes(b, data, Input{Filename: "big.csv"})
			p := MustPlan(b, reg, tb, testOptions())
			events = p.Events()
		}
		if events != wantEvents {
			b.Fatalf("%d events, want %d", events, wantEvents)
		}
		perOp := b.Elapsed().Seconds() / float64(b.N)
		b.ReportMetric(float64(events), "events")
		b.ReportMetric(appendSecs, "append-s")
		b.ReportMetric(perOp/appendSecs, "x-append")
	}
	b.Run("new", func(b *testing.B) { run(b, newRegister(), 11000) })
	reg.apply(b, first)
	b.Run("reimport", func(b *testing.B) { run(b, reg, 0) })
}

// bulkAppend appends the plan's events to a fresh SQLite store and returns
// the seconds it took.
func bulkAppend(b *testing.B, p *Plan) float64 {
	b.Helper()
	s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "bulk.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	envs := envelopes(b, p)
	t0 := time.Now()
	var wg sync.WaitGroup
	work := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range work {
				if _, err := s.Append(b.Context(), p.Appends[i].Stream, p.Appends[i].ExpectedVersion, envs[p.Appends[i].Stream]); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for i := range p.Appends {
		work <- i
	}
	close(work)
	wg.Wait()
	return time.Since(t0).Seconds()
}
