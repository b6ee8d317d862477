package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/eventstore/sqlite"
)

// BenchmarkObjectiveTrend reads one objective with 5 KPIs of 2,000
// measurements each (every 10th corrected) and the trend of the last 12
// values per KPI, and reports the ratio to a raw baseline measured in the
// same run: the same 5 trend queries, straight SQL, no objective, no views.
//
//	go test -run '^$' -bench ObjectiveTrend ./projections/
func BenchmarkObjectiveTrend(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"), sqlite.Options{Synchronous: sqlite.SynchronousNormal})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	const kpis, perKPI = 5, 2000
	oid, kids := fillObjectiveLog(b, store, kpis, perKPI)
	m := MustOpenReadModel(b, store)
	head, _, _ := store.Head(ctx)
	if err := m.Rebuild(ctx); err != nil {
		b.Fatal(err)
	}
	if cp, _ := m.Checkpoint(ctx); cp != head {
		b.Fatalf("checkpoint %d, head %d", cp, head)
	}

	baseline := func() {
		for _, k := range kids {
			rows, err := m.db.QueryContext(ctx, `SELECT id, value, measured_at FROM kpi_measurements
				WHERE kpi_id = ? AND superseded = 0 ORDER BY measured_at DESC, position DESC LIMIT 12`, k)
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for rows.Next() {
				var id, at string
				var v float64
				if err := rows.Scan(&id, &v, &at); err != nil {
					b.Fatal(err)
				}
				n++
			}
			rows.Close()
			if n != 12 {
				b.Fatalf("baseline read %d values", n)
			}
		}
	}
	const rounds = 200
	start := time.Now()
	for range rounds {
		baseline()
	}
	base := time.Since(start) / rounds

	b.ResetTimer()
	for b.Loop() {
		o, err := m.Objective(ctx, string(oid), DefaultTrend)
		if err != nil {
			b.Fatal(err)
		}
		if len(o.KPIs) != kpis || len(o.KPIs[0].Trend) != DefaultTrend {
			b.Fatalf("objective has %d KPIs, trend %d", len(o.KPIs), len(o.KPIs[0].Trend))
		}
	}
	b.StopTimer()
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(float64(base.Nanoseconds()), "baseline-ns/op")
	b.ReportMetric(ns/float64(base.Nanoseconds()), "x-baseline")
}

// fillObjectiveLog appends an objective with kpis KPIs and perKPI
// measurements each, every 10th followed by its correction, through the
// domain's decisions, in batches.
func fillObjectiveLog(b *testing.B, store eventstore.Store, kpis, perKPI int) (domain.ObjectiveID, []string) {
	b.Helper()
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	m := domain.Meta{Actor: "bench", Trigger: "periodic_review"}
	oid := domain.ObjectiveID(uuid.NewString())
	o := &domain.Objective{}
	var batch []domain.Event
	flush := func() {
		if len(batch) == 0 {
			return
		}
		envs := make([]eventstore.Event, len(batch))
		for i, de := range batch {
			data, err := json.Marshal(de)
			if err != nil {
				b.Fatal(err)
			}
			envs[i] = eventstore.Event{ID: uuid.Must(uuid.NewV7()).String(), Type: de.EventType(),
				Schema: domain.CurrentSchema, Time: now, Actor: m.Actor, Trigger: m.Trigger, Data: data}
		}
		if _, err := store.Append(ctx, oid.Stream(), o.Version-int64(len(batch)), envs); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	decide := func(evs []domain.Event, err error) {
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range evs {
			o.Apply(e)
		}
		batch = append(batch, evs...)
		if len(batch) >= 500 {
			flush()
		}
	}
	decide(o.Set(domain.SetObjective{Meta: m, ObjectiveID: oid, Title: "Bench", Owner: "SRE", Due: "2030-12-31"}, nil, now))
	var kids []string
	start := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for k := range kpis {
		kid := domain.KPIID(uuid.NewString())
		kids = append(kids, string(kid))
		decide(o.DefineKPI(domain.DefineKPI{Meta: m, ObjectiveID: oid, KPIID: kid, Name: fmt.Sprint("KPI ", k),
			Operator: ">=", Target: 50, Frequency: "daily"}, now))
		for i := range perKPI {
			mid := domain.MeasurementID(uuid.NewString())
			at := start.AddDate(0, 0, i).Format(domain.DateLayout)
			decide(o.Measure(domain.MeasureKPI{Meta: m, ObjectiveID: oid, KPIID: kid, MeasurementID: mid,
				Value: float64(i % 100), MeasuredAt: at}, now))
			if i%10 == 0 {
				decide(o.Measure(domain.MeasureKPI{Meta: m, ObjectiveID: oid, KPIID: kid,
					MeasurementID: domain.MeasurementID(uuid.NewString()), Value: 99, Corrects: &mid}, now))
			}
		}
	}
	flush()
	return oid, kids
}
