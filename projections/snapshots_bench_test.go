package projections

import (
	"context"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/partyledger/partyledger/domain"
)

// BenchmarkAsOfSnapshotsAtScale measures the first as_of far from a
// persistent snapshot (a position just before the next one, so a read
// model with no cache loads a snapshot and folds interval-1 events), its
// two parts, and the fold from zero that as_of did before the snapshots,
// on the audit log of mustAuditLog (100k events / 1k parties, or 1M / 10k
// with PARTYLEDGER_BENCH_LARGE=1). x-fold is the as_of time over the full
// fold's to the same position; x-raw-read is over a raw ordered read of
// every event up to it (plain database/sql, no decoding). It also reports
// what the snapshots store.
//
//	PARTYLEDGER_BENCH_DIR=/tmp/plbench go test -run '^$' -bench AsOfSnapshotsAtScale -benchtime 3x -count 3 ./projections/
func BenchmarkAsOfSnapshotsAtScale(b *testing.B) {
	ctx := context.Background()
	store, path, m, info := mustAuditLog(b)
	raw := mustRawLog(b, path)
	every := m.snapshotInterval()
	rng := rand.New(rand.NewPCG(5, 5))
	var rows, bytes, snaps int64
	if err := m.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(length(data)), 0) FROM register_snapshot_parties`).
		Scan(&rows, &bytes); err != nil {
		b.Fatal(err)
	}
	if err := m.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM register_snapshots`).Scan(&snaps); err != nil {
		b.Fatal(err)
	}
	if snaps == 0 {
		b.Fatal("no snapshots stored")
	}
	far := func() int64 { // just before a snapshot: the farthest from the one before
		k := rng.Int64N(info.events/every) + 1
		return min(k*every-1, info.events)
	}
	b.Run("first-far-from-snapshot", func(b *testing.B) {
		var lat, cpu, load, fold, full, rawLat []time.Duration
		for b.Loop() {
			pos := far()
			t0, c0 := time.Now(), cpuTime(b)
			if _, err := m.RegisterAsOf(ctx, AsOf{Position: pos}, PartyFilter{}); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
			cpu = append(cpu, cpuTime(b)-c0)
			b.StopTimer()
			t0 = time.Now()
			s, err := m.loadSnapshot(ctx, AsOf{Position: pos}, pos)
			if err != nil {
				b.Fatal(err)
			}
			load = append(load, time.Since(t0))
			t0 = time.Now()
			if err := s.foldTo(ctx, store, nil, pos, nil); err != nil {
				b.Fatal(err)
			}
			fold = append(fold, time.Since(t0))
			t0 = time.Now()
			if _, err := FoldRegister(ctx, store, AsOf{Position: pos}, pos); err != nil {
				b.Fatal(err)
			}
			full = append(full, time.Since(t0))
			t0 = time.Now()
			raw.query(b, `SELECT position, id, stream, version, type, schema, time, actor, reason,
				"trigger", correlation_id, causation_id, data, prev_hash, hash FROM events
				WHERE position <= ? ORDER BY position`, pos)
			rawLat = append(rawLat, time.Since(t0))
			b.StartTimer()
		}
		reportLatencies(b, lat, "")
		p50 := func(d []time.Duration) float64 { return float64(latencyPercentile(d, 50)) }
		b.ReportMetric(p50(cpu)/1e6, "cpu-ms")
		b.ReportMetric(p50(load)/1e6, "load-snapshot-ms")
		b.ReportMetric(p50(fold)/1e6, "fold-interval-ms")
		b.ReportMetric(p50(full)/1e6, "full-fold-ms")
		b.ReportMetric(p50(lat)/p50(full), "x-fold")
		b.ReportMetric(p50(lat)/p50(rawLat), "x-raw-read")
		b.ReportMetric(float64(every), "interval")
		b.ReportMetric(float64(snaps), "snapshots")
		b.ReportMetric(float64(rows), "party-states")
		b.ReportMetric(float64(bytes)/1e6, "stored-MB")
	})
	// What the snapshots add to a rebuild: applying the whole log to the
	// snapshots projection of a fresh read model as a rebuild does (the
	// events decoded beforehand, as the runner does once for every
	// projection): folding each into the register kept in memory and, at
	// every snapshot, encoding and writing the states changed since the one
	// before.
	b.Run("write-all-snapshots", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			m2 := MustOpenReadModel(b, store)
			tx, err := m2.wdb.BeginTx(ctx, nil)
			if err != nil {
				b.Fatal(err)
			}
			sp := newSnapshots(store, every)
			sp.setCacheLimit(rebuildCacheParties) // as during a rebuild
			if err := sp.begin(ctx, tx); err != nil {
				b.Fatal(err)
			}
			var took, cpu time.Duration
			for after := int64(0); after < info.events; {
				evs, err := store.ReadAll(ctx, after, RebuildBatch)
				if err != nil || len(evs) == 0 {
					b.Fatal(err)
				}
				des := make([]domain.Event, len(evs))
				for i := range evs {
					if des[i], err = decode(&evs[i]); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				t0, c0 := time.Now(), cpuTime(b)
				for i := range evs {
					if err := sp.apply(ctx, &evs[i], des[i]); err != nil {
						b.Fatal(err)
					}
				}
				took, cpu = took+time.Since(t0), cpu+cpuTime(b)-c0
				b.StopTimer()
				after = evs[len(evs)-1].Position
			}
			b.ReportMetric(took.Seconds(), "s")
			b.ReportMetric(cpu.Seconds(), "cpu-s")
			tx.Rollback()
			b.StartTimer()
		}
	})
}

// BenchmarkSnapshotsCatchUp measures what migration 0013 costs a read
// model upgraded in place: its snapshots dropped, the snapshots projection
// alone catches up from position 0 on the live path (each snapshot reads
// its interval back from the store and loads the states it changes), the
// other projections already at the head. It rewrites the snapshots of the
// benchmark's read model, row for row the same.
//
//	PARTYLEDGER_BENCH_DIR=/tmp/plbench go test -run '^$' -bench SnapshotsCatchUp -benchtime 1x -count 3 ./projections/
func BenchmarkSnapshotsCatchUp(b *testing.B) {
	ctx := context.Background()
	_, _, m, info := mustAuditLog(b)
	for b.Loop() {
		b.StopTimer()
		for _, q := range []string{`DELETE FROM register_snapshot_parties`, `DELETE FROM register_snapshots`,
			`UPDATE checkpoints SET position = 0 WHERE name = 'register_snapshots'`} {
			if _, err := m.wdb.ExecContext(ctx, q); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		t0, c0 := time.Now(), cpuTime(b)
		stop := MustRun(b, m)
		for cp := int64(0); cp < info.events; time.Sleep(10 * time.Millisecond) {
			if err := m.db.QueryRowContext(ctx, `SELECT position FROM checkpoints
				WHERE name = 'register_snapshots'`).Scan(&cp); err != nil {
				b.Fatal(err)
			}
			if time.Since(t0) > 10*time.Minute {
				b.Fatalf("snapshots at %d of %d after 10 minutes", cp, info.events)
			}
		}
		stop()
		b.ReportMetric(time.Since(t0).Seconds(), "s")
		b.ReportMetric((cpuTime(b) - c0).Seconds(), "cpu-s")
	}
}

// cpuTime is the CPU time (user + system) the process has used: on a
// shared machine it says what the work costs when wall time says how busy
// the machine was.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
