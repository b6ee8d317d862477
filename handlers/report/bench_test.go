package report_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/handlers/report"
	"github.com/partyledger/partyledger/projections"
)

var (
	benchChanges = flag.Int("report.changes", 10_000, "change events in the window of BenchmarkReport")
	benchParties = flag.Int("report.parties", 500, "parties the changes of BenchmarkReport are spread over")
)

// mustFillLog appends n change events over parties parties directly to the
// store (no command service: the benchmark is about reading), 20 per party
// in chunks: the party, five requirements, then revisions of the party and
// its requirements, addressing decisions and a retirement, with long-ish
// texts and every trigger.
func mustFillLog(tb testing.TB, e *env, n, parties int) {
	tb.Helper()
	ctx := context.Background()
	type party struct {
		id    domain.PartyID
		reqs  []domain.RequirementID
		count int
	}
	ps := make([]*party, parties)
	for i := range ps {
		ps[i] = &party{id: domain.PartyID(uuid.NewString())}
	}
	reason := "Reviewed with the owner after the quarterly risk assessment; see minutes RA-2026-%d, item %d. " +
		"The change keeps the register in line with the contract and the regulator's guidance."
	next := func(p *party, i int) domain.Event {
		defer func() { p.count++ }()
		switch j := p.count; {
		case j == 0:
			return domain.PartyIdentified{PartyID: p.id, Name: fmt.Sprintf("Party %d – Société Générale de Test", i),
				Category: domain.Categories[i%len(domain.Categories)], Scope: domain.Scopes[i%2],
				Description: "A party of the benchmark, with a description of typical length for the register.",
				Owner:       "CISO", Influence: 3, Interest: 3}
		case j <= 5:
			r := domain.RequirementID(uuid.NewString())
			p.reqs = append(p.reqs, r)
			return domain.RequirementIdentified{PartyID: p.id, RequirementID: r, Kind: domain.Kinds[j%2],
				Title: fmt.Sprintf("Requirement %d of party %d", j, i), Description: "Must hold at all times, as agreed in the contract.",
				SourceType: "contract", SourceRef: "MSA §7.2", Owner: "DPO", Priority: "medium", ReviewDue: ptr("2026-06-30"),
				Controls: []string{}}
		case j == 19:
			return domain.RequirementRetired{PartyID: p.id, RequirementID: p.reqs[0],
				Changes: domain.Changes{"status": {From: domain.StatusActive, To: domain.StatusRetired}}}
		default:
			r := p.reqs[j%len(p.reqs)]
			switch j % 4 {
			case 0:
				return domain.PartyRevised{PartyID: p.id, Changes: domain.Changes{
					"owner":    {From: fmt.Sprint("owner ", j-4), To: fmt.Sprint("owner ", j)},
					"interest": {From: 1 + (j/4)%5, To: 1 + (j/4+1)%5}}}
			case 1:
				return domain.RequirementRevised{PartyID: p.id, RequirementID: r, Changes: domain.Changes{
					"description": {From: "Must hold at all times.", To: fmt.Sprintf("Must hold at all times; revision %d.", j)}}}
			case 2:
				yes := j%3 != 0
				return domain.RequirementAddressingDecided{PartyID: p.id, RequirementID: r,
					Addressed: &yes, Rationale: "Decided by the ISMS board.", Controls: []string{"A.5.19", "A.5.20"},
					Changes: domain.Changes{"addressed": {From: nil, To: yes},
						"rationale": {From: "", To: "Decided by the ISMS board."},
						"controls":  {From: []string{}, To: []string{"A.5.19", "A.5.20"}}}}
			default:
				return domain.RequirementRevised{PartyID: p.id, RequirementID: r, Changes: domain.Changes{
					"priority": {From: "medium", To: "high"}, "review_due": {From: "2026-06-30", To: "2027-01-31"}}}
			}
		}
	}
	at := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	var written int
	var head int64
	for written < n {
		for i, p := range ps {
			var chunk []eventstore.Event
			for k := 0; k < 10 && written < n && p.count < 20; k++ {
				de := next(p, i)
				data, err := json.Marshal(de)
				if err != nil {
					tb.Fatal(err)
				}
				at = at.Add(time.Minute)
				chunk = append(chunk, eventstore.Event{ID: uuid.Must(uuid.NewV7()).String(), Type: de.EventType(),
					Schema: domain.CurrentSchema, Time: at, Actor: fmt.Sprintf("user%d", written%7),
					Reason: fmt.Sprintf(reason, written%97, written), Trigger: domain.Triggers[written%len(domain.Triggers)],
					Data: data})
				written++
			}
			if len(chunk) == 0 {
				continue
			}
			stored, err := e.store.Append(ctx, p.id.Stream(), eventstore.AnyVersion, chunk)
			if err != nil {
				tb.Fatal(err)
			}
			head = stored[len(stored)-1].Position
		}
		if written < n && ps[len(ps)-1].count >= 20 {
			tb.Fatalf("%d parties hold at most %d events; raise -report.parties", parties, 20*parties)
		}
	}
	if err := e.rm.WaitFor(ctx, head); err != nil {
		tb.Fatal(err)
	}
}

// countingWriter counts what a renderer writes.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// peakHeap samples the live heap every few milliseconds until stopped and
// returns the highest value seen.
func peakHeap() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(done); wg.Wait(); return peak.Load() }
}

// BenchmarkReport builds and renders the report of a window of
// -report.changes change events (10,000 by default) on a real SQLite event
// store and read model, in every format. Besides ns/op and B/op it reports
// MB-alloc/op, the peak live heap (peak-heap-MB, sampled), the output size
// (out-MB) and x-baseline: the time per op over the raw baseline measured in
// the same run, reading the same window from the read model and encoding
// its net view as JSON (what GET /api/v1/changes?view=net does).
func BenchmarkReport(b *testing.B) {
	e := MustOpenEnv(b)
	mustFillLog(b, e, *benchChanges, *benchParties)
	ctx := context.Background()
	builder := e.builder()
	req := report.Request{Since: "beginning", GeneratedBy: "bench"}

	rep, err := builder.Build(ctx, req)
	if err != nil {
		b.Fatal(err)
	}
	if rep.Events != *benchChanges {
		b.Fatalf("window holds %d events, want %d", rep.Events, *benchChanges)
	}

	baseline := func() error {
		items, err := e.rm.Changes(ctx, projections.Window{})
		if err != nil {
			return err
		}
		return json.NewEncoder(io.Discard).Encode(projections.NetChanges(items))
	}
	// The baseline is timed by hand: testing.Benchmark inside a benchmark
	// would wait for the benchmark lock this benchmark holds.
	var times []time.Duration
	for range 5 {
		start := time.Now()
		if err := baseline(); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	base := times[len(times)/2]
	b.Logf("baseline (read the window, net view as JSON): median %v of 5", base)

	run := func(b *testing.B, render func(w io.Writer, r *report.Report) error) {
		b.ReportAllocs()
		var out countingWriter
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		stop := peakHeap()
		for b.Loop() {
			r, err := builder.Build(ctx, req)
			if err != nil {
				b.Fatal(err)
			}
			out.n = 0
			if render != nil {
				if err := render(&out, r); err != nil {
					b.Fatal(err)
				}
			}
		}
		peak := stop()
		runtime.ReadMemStats(&after)
		ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/1e6, "MB-alloc/op")
		b.ReportMetric(float64(peak)/1e6, "peak-heap-MB")
		b.ReportMetric(float64(out.n)/1e6, "out-MB")
		b.ReportMetric(ns/float64(base.Nanoseconds()), "x-baseline")
	}
	b.Run("build", func(b *testing.B) { run(b, nil) })
	for _, f := range report.Formats {
		b.Run(string(f), func(b *testing.B) {
			run(b, func(w io.Writer, r *report.Report) error { return report.Render(w, r, f) })
		})
	}
}
