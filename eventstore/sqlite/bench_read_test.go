package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkReadAll reads a log of 100k events from the start with
// Store.ReadAll in pages of SubscribeBatch (what Subscribe and a rebuild
// do) and compares the rate with the raw baseline measured in the same run
// on the same file: one ordered SELECT of every column over plain
// database/sql (the "sqlite3" driver), scanned into Go values without
// decoding the time. Reports events/s, raw-events/s and x-raw. The raw
// ordered read is the ceiling of a projection rebuild.
//
//	go test -run '^$' -bench ReadAll -benchtime 5x -count 5 ./eventstore/sqlite/
func BenchmarkReadAll(b *testing.B) {
	const n = 100_000
	path := filepath.Join(b.TempDir(), "store.db")
	s := MustOpenStore(b, path, Options{Synchronous: SynchronousNormal})
	evs := benchEvents(n)
	for i := 0; i < n; i += 1000 {
		if _, err := s.Append(b.Context(), "party-read", int64(i), evs[i:i+1000]); err != nil {
			b.Fatal(err)
		}
	}
	raw, err := sql.Open("sqlite3", path+"?_query_only=1")
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()

	var rawElapsed time.Duration
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		t0 := time.Now()
		if got := rawReadAll(b, raw); got != n {
			b.Fatalf("raw read %d events, want %d", got, n)
		}
		rawElapsed += time.Since(t0)
		b.StartTimer()
		got := 0
		for after := int64(0); ; {
			page, err := s.ReadAll(b.Context(), after, SubscribeBatch)
			if err != nil {
				b.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			got += len(page)
			after = page[len(page)-1].Position
		}
		if got != n {
			b.Fatalf("read %d events, want %d", got, n)
		}
	}
	b.StopTimer()
	rate := float64(n*b.N) / b.Elapsed().Seconds()
	rawRate := float64(n*b.N) / rawElapsed.Seconds()
	b.ReportMetric(rate, "events/s")
	b.ReportMetric(rawRate, "raw-events/s")
	b.ReportMetric(rate/rawRate, "x-raw")
}

// rawReadAll is the baseline: every row in position order, scanned.
func rawReadAll(b *testing.B, db *sql.DB) int {
	rows, err := db.Query(selectEvents + `ORDER BY position`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var (
		pos, version                                                        int64
		schema                                                              int
		id, stream, typ, tm, actor, reason, trigger, corr, cause, prev, hsh string
		data                                                                []byte
	)
	count := 0
	for rows.Next() {
		if err := rows.Scan(&pos, &id, &stream, &version, &typ, &schema, &tm, &actor, &reason, &trigger,
			&corr, &cause, &data, &prev, &hsh); err != nil {
			b.Fatal(err)
		}
		count++
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return count
}
