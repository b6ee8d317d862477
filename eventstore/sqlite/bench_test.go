package sqlite

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/partyledger/partyledger/eventstore"
)

// The benchmarks compare Store.Append with a raw baseline measured in the
// same run on the same table: plain database/sql on go-sqlite3 ("sqlite3"
// driver), WAL, synchronous=FULL, a prepared INSERT, BEGIN IMMEDIATE and
// COMMIT around each unit of work. Both do b.N operations, interleaved in
// chunks (raw chunk, store chunk, ...) so that drift in disk latency during
// the run affects both alike; only the store's chunks are timed. Each
// sub-benchmark reports:
//
//	events/s      the store's throughput
//	raw-events/s  the baseline's throughput
//	x-raw         events/s divided by raw-events/s
//
// Run: go test -run '^$' -bench . -benchtime=1s -count=3 ./eventstore/sqlite/

const benchConcurrency = 64

func BenchmarkAppend(b *testing.B) {
	b.Run("single", benchSingle)
	b.Run("concurrent64", benchConcurrent)
	b.Run("bulk1000", benchBulk)
}

// interleave runs raw(lo, hi) and store(lo, hi) alternately over [0, n) in
// chunks, timing only store, and returns the time raw took.
func interleave(b *testing.B, n, chunk int, raw, store func(lo, hi int)) (rawElapsed time.Duration) {
	b.StopTimer()
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		t0 := time.Now()
		raw(lo, hi)
		rawElapsed += time.Since(t0)
		b.StartTimer()
		store(lo, hi)
		b.StopTimer()
	}
	return rawElapsed
}

// benchSingle: one goroutine, one event per transaction / per Append.
func benchSingle(b *testing.B) {
	b.StopTimer()
	evs := benchEvents(b.N)
	raw := openRaw(b)
	s := MustOpenStore(b, filepath.Join(b.TempDir(), "store.db"), Options{})
	rawElapsed := interleave(b, b.N, 100,
		func(lo, hi int) {
			for i := lo; i < hi; i++ {
				raw.insertTx(b, "party-raw", evs[i:i+1], i+1)
			}
		},
		func(lo, hi int) {
			for i := lo; i < hi; i++ {
				if _, err := s.Append(b.Context(), "party-store", int64(i), evs[i:i+1]); err != nil {
					b.Fatal(err)
				}
			}
		})
	report(b, float64(b.N), float64(b.N)/rawElapsed.Seconds())
}

// benchConcurrent: 64 goroutines, each appending one event at a time to its
// own stream. The baseline shares one connection (SetMaxOpenConns(1)), the
// usual way to avoid SQLITE_BUSY with several writers, so each event costs
// one transaction and one fsync.
func benchConcurrent(b *testing.B) {
	b.StopTimer()
	evs := benchEvents(b.N)
	raw := openRaw(b)
	s := MustOpenStore(b, filepath.Join(b.TempDir(), "store.db"), Options{})
	var rawVersions, storeVersions [benchConcurrency]int
	rawElapsed := interleave(b, b.N, benchConcurrency*20,
		func(lo, hi int) {
			runConcurrent(lo, hi, func(g, i int) error {
				rawVersions[g]++
				return raw.insertTxErr(fmt.Sprintf("party-raw-%d", g), evs[i:i+1], rawVersions[g])
			})
		},
		func(lo, hi int) {
			runConcurrent(lo, hi, func(g, i int) error {
				_, err := s.Append(b.Context(), fmt.Sprintf("party-store-%d", g), int64(storeVersions[g]), evs[i:i+1])
				storeVersions[g]++
				return err
			})
		})
	report(b, float64(b.N), float64(b.N)/rawElapsed.Seconds())
	if st := s.Stats(); st.Commits > 0 {
		b.ReportMetric(float64(st.Appends)/float64(st.Commits), "appends/commit")
	}
}

// runConcurrent shares operations lo..hi-1 among benchConcurrency
// goroutines; op gets the goroutine number and the operation index.
func runConcurrent(lo, hi int, op func(g, i int) error) {
	var next atomic.Int64
	next.Store(int64(lo))
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for g := range benchConcurrency {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= hi {
					return
				}
				if err := op(g, i); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := firstErr.Load(); err != nil {
		panic(err) // benchmarks cannot b.Fatal from other goroutines
	}
}

// benchBulk: one goroutine, 1000 events per transaction / per Append.
func benchBulk(b *testing.B) {
	const per = 1000
	b.StopTimer()
	evs := benchEvents(b.N * per)
	raw := openRaw(b)
	s := MustOpenStore(b, filepath.Join(b.TempDir(), "store.db"), Options{})
	rawElapsed := interleave(b, b.N, 1,
		func(lo, hi int) {
			for i := lo; i < hi; i++ {
				raw.insertTx(b, "party-raw", evs[i*per:(i+1)*per], i*per+1)
			}
		},
		func(lo, hi int) {
			for i := lo; i < hi; i++ {
				if _, err := s.Append(b.Context(), "party-store", int64(i*per), evs[i*per:(i+1)*per]); err != nil {
					b.Fatal(err)
				}
			}
		})
	report(b, float64(b.N*per), float64(b.N*per)/rawElapsed.Seconds())
}

func report(b *testing.B, events, rawRate float64) {
	rate := events / b.Elapsed().Seconds()
	b.ReportMetric(rate, "events/s")
	b.ReportMetric(rawRate, "raw-events/s")
	b.ReportMetric(rate/rawRate, "x-raw")
}

// benchEvents returns n events shaped like real ones (UUIDv7 id, ~100 bytes
// of data).
func benchEvents(n int) []eventstore.Event {
	evs := make([]eventstore.Event, n)
	now := time.Now()
	for i := range evs {
		evs[i] = eventstore.Event{
			ID:            uuid.Must(uuid.NewV7()).String(),
			Type:          "requirement.revised",
			Schema:        1,
			Time:          now.Add(time.Duration(i)),
			Actor:         "ciso@example.org",
			Reason:        "annual review",
			Trigger:       "periodic_review",
			CorrelationID: "corr-1",
			CausationID:   "cause-1",
			Data:          json.RawMessage(fmt.Sprintf(`{"changes":{"priority":{"from":"medium","to":"high"}},"n":%d}`, i)),
		}
	}
	return evs
}

// rawDB is the baseline: the events table driven directly.
type rawDB struct {
	db  *sql.DB
	ins *sql.Stmt
}

var fakeHash = strings.Repeat("ab", 32)

func openRaw(b *testing.B) *rawDB {
	b.Helper()
	path := filepath.Join(b.TempDir(), "raw.db")
	db, err := sql.Open("sqlite3", path+"?_txlock=immediate&_journal_mode=WAL&_synchronous=FULL&_busy_timeout=10000&_foreign_keys=1")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	var syncLevel int
	if err := db.QueryRow("PRAGMA synchronous").Scan(&syncLevel); err != nil || syncLevel != 2 {
		b.Fatalf("raw baseline: synchronous = %d, %v; want 2 (FULL)", syncLevel, err)
	}
	if err := migrate(b.Context(), db); err != nil {
		b.Fatal(err)
	}
	ins, err := db.Prepare(insertSQL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ins.Close() })
	return &rawDB{db: db, ins: ins}
}

func (r *rawDB) insertTx(b *testing.B, stream string, evs []eventstore.Event, firstVersion int) {
	if err := r.insertTxErr(stream, evs, firstVersion); err != nil {
		b.Fatal(err)
	}
}

// insertTxErr inserts evs in one transaction; position is left to SQLite
// (NULL makes the rowid max+1).
func (r *rawDB) insertTxErr(stream string, evs []eventstore.Event, firstVersion int) error {
	tx, err := r.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	st := tx.Stmt(r.ins)
	for j, ev := range evs {
		if _, err := st.Exec(nil, ev.ID, stream, firstVersion+j, ev.Type, ev.Schema, eventstore.FormatTime(ev.Time),
			ev.Actor, ev.Reason, ev.Trigger, ev.CorrelationID, ev.CausationID, string(ev.Data), fakeHash, fakeHash); err != nil {
			return err
		}
	}
	return tx.Commit()
}
