package projections

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore/sqlite"
)

// TestMultiRowInsertsAndHeldStatements applies a log of more events than
// one multi-row INSERT holds (audit index and change feed) live, one small
// batch at a time, through a writer pool of one connection (the statements
// held across batches must not wait for the connection the batch holds),
// then rebuilds it in one batch, and checks that both give the same rows;
// and that after the first batches every statement is held, none left to
// prepare per batch.
func TestMultiRowInsertsAndHeldStatements(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	path := filepath.Join(t.TempDir(), "read.db")
	db, err := sqlite.OpenDB(path, sqlite.WithSynchronous(sqlite.SynchronousNormal))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	wdb, err := sqlite.OpenDB(path, sqlite.WithSynchronous(sqlite.SynchronousNormal))
	if err != nil {
		t.Fatal(err)
	}
	defer wdb.Close()
	wdb.SetMaxOpenConns(1)
	m, err := Open(ctx, db, store, nil, WithWriter(wdb))
	if err != nil {
		t.Fatal(err)
	}
	stop := MustRun(t, m)
	l := newLedger(t, store)
	// 3 parties × (1 + 1 requirement + 45 revisions) = 141 events: more
	// than 2 full INSERTs of either table, with a remainder.
	for i := range 3 {
		p := l.identify(fmt.Sprintf("Party %d", i), "customer", "external", "")
		r := l.requirement(p, "requirement", fmt.Sprintf("Requirement %d", i))
		for j := range 45 {
			if j%2 == 0 {
				l.revise(domain.ReviseParty{PartyID: p, Interest: ptr(1 + j%5)})
			} else {
				l.reviseRequirement(domain.ReviseRequirement{PartyID: p, RequirementID: r, Title: ptr(fmt.Sprintf("Requirement %d.%d", i, j))})
			}
			MustWait(t, m, l.head)
		}
	}
	MustWait(t, m, l.head)
	stop()
	live := dumpTables(t, db)
	for table, min := range map[string]int{"audit_index": 141, "changes": 141} {
		if got := len(live[table]); got < min {
			t.Fatalf("%s has %d rows, want >= %d", table, got, min)
		}
	}

	m.stmts.mu.Lock()
	held, wanted := 0, len(m.stmts.wanted)
	for _, s := range m.stmts.held {
		if s != nil {
			held++
		}
	}
	m.stmts.mu.Unlock()
	if held < 10 || wanted != 0 {
		t.Errorf("statements held %d (want >= 10), still wanted %d (want 0)", held, wanted)
	}

	if err := m.Rebuild(ctx); err != nil { // one batch of every event
		t.Fatal(err)
	}
	if diff := cmp.Diff(live, dumpTables(t, db)); diff != "" {
		t.Errorf("rebuilt rows differ from live (-live +rebuilt):\n%s", diff)
	}
}

// BenchmarkApplyOneEventBatch applies a log one event per batch, as Run
// does under light write load, with the statements held across batches
// (held) and prepared in every batch (per-batch, as before they were
// held); ns/op is the time of one batch.
//
//	go test -run '^$' -bench ApplyOneEventBatch -benchtime 2000x -count 3 ./projections/
func BenchmarkApplyOneEventBatch(b *testing.B) {
	ctx := context.Background()
	store := MustOpenStore(b)
	l := newLedger(b, store)
	var parties []domain.PartyID
	for i := range 20 {
		parties = append(parties, l.identify(fmt.Sprintf("Party %d", i), "customer", "external", ""))
	}
	for i := 0; l.head < 5100; i++ {
		l.revise(domain.ReviseParty{PartyID: parties[i%len(parties)], Description: ptr(fmt.Sprintf("revision %d", i))})
	}
	events, err := store.ReadAll(ctx, 0, 6000)
	if err != nil {
		b.Fatal(err)
	}
	for _, held := range []bool{true, false} {
		name := "held"
		if !held {
			name = "per-batch"
		}
		b.Run(name, func(b *testing.B) {
			if b.N > len(events)-20 {
				b.Skipf("b.N %d exceeds the %d events", b.N, len(events)-20)
			}
			m := MustOpenReadModel(b, store)
			if !held {
				for _, p := range m.projs {
					if u, ok := p.(stmtUser); ok {
						u.useStmts(nil)
					}
				}
			}
			if err := m.apply(ctx, events[:20]); err != nil {
				b.Fatal(err)
			}
			i := 20
			for b.Loop() {
				if err := m.apply(ctx, events[i:i+1]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// TestRowBufferReportsFailedInserts checks that a row buffer's INSERTs,
// which run through the driver's query path (execFused), still report a
// failing statement, both for a full statement and for the rows flushed at
// the end, and that nothing of a failing statement is written.
func TestRowBufferReportsFailedInserts(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.OpenDB(filepath.Join(t.TempDir(), "rows.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL) STRICT`); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	b := newRowBuffer("INSERT INTO t (id, v) VALUES ", "", 2, 3)
	write := func(rows ...any) error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		b.begin(tx)
		defer b.end()
		for i := 0; i < len(rows); i += 2 {
			if err := b.add(ctx, rows[i], rows[i+1]); err != nil {
				return err
			}
		}
		if err := b.flush(ctx); err != nil {
			return err
		}
		return tx.Commit()
	}
	if err := write(int64(1), "a", int64(2), "b", int64(3), "c", int64(4), "d"); err != nil {
		t.Fatalf("4 good rows: %v", err)
	}
	if n := count(); n != 4 {
		t.Fatalf("%d rows after 4 good rows, want 4", n)
	}
	// A duplicate key in a full statement of 3 rows.
	if err := write(int64(5), "e", int64(1), "dup", int64(6), "f"); err == nil {
		t.Error("a full INSERT with a duplicate key reported no error")
	}
	// A NULL into a NOT NULL column in the flushed remainder.
	if err := write(int64(7), nil); err == nil {
		t.Error("a flushed INSERT of a NULL into a NOT NULL column reported no error")
	}
	if n := count(); n != 4 {
		t.Errorf("%d rows after the failing writes, want 4", n)
	}
}
