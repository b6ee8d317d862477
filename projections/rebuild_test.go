package projections

import (
	"context"
	"database/sql"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// indexNames lists the indexes of db (those with SQL, not automatic ones).
func indexNames(tb testing.TB, db *sql.DB) []string {
	tb.Helper()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			tb.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

// TestRebuildRestoresDeferredIndexes checks that a rebuild drops the
// deferred indexes, reports progress, and ends with every index back; and
// that a rebuild that died with its indexes dropped is repaired by Open.
func TestRebuildRestoresDeferredIndexes(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	db := MustOpenDB(t)
	m, err := Open(ctx, db, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	before := indexNames(t, db)
	for _, n := range rebuildDeferredIndexes {
		if !slices.Contains(before, n) {
			t.Fatalf("deferred index %s is not in the schema %v", n, before)
		}
	}
	l := newLedger(t, store)
	scenario(l, func() {})
	head, _, err := store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}

	var phases []string
	var during []string
	err = m.RebuildWith(ctx, RebuildOptions{Progress: func(phase string, applied, h int64) {
		if len(phases) == 0 {
			during = indexNames(t, db)
		}
		phases = append(phases, phase)
		if phase == PhaseReplay && (h != head || applied > head || applied <= 0) {
			t.Errorf("progress %s %d/%d, head %d", phase, applied, h, head)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(phases) < 2 || phases[0] != PhaseReplay || phases[len(phases)-1] != PhaseIndexes {
		t.Fatalf("progress phases %v", phases)
	}
	for _, n := range rebuildDeferredIndexes {
		if slices.Contains(during, n) {
			t.Errorf("index %s kept during the replay", n)
		}
	}
	if after := indexNames(t, db); !slices.Equal(after, before) {
		t.Fatalf("indexes after rebuild %v, want %v", after, before)
	}
	if cp, err := m.Checkpoint(ctx); err != nil || cp != head {
		t.Fatalf("checkpoint %d (%v), want %d", cp, err, head)
	}

	// A rebuild killed during its replay: indexes dropped and recorded.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := dropDeferredIndexes(ctx, tx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := indexNames(t, db); slices.Equal(got, before) {
		t.Fatal("dropDeferredIndexes dropped nothing")
	}
	if _, err := Open(ctx, db, store, nil); err != nil {
		t.Fatal(err)
	}
	if after := indexNames(t, db); !slices.Equal(after, before) {
		t.Fatalf("indexes after reopening %v, want %v", after, before)
	}
}

// faultStore is the real store with one event's data corrupted as it is
// read: applying the batch that holds it fails (a known event type whose
// data does not decode), which rolls that batch back as a crash would.
type faultStore struct {
	eventstore.Store
	bad int64 // position of the corrupted event
}

func (s faultStore) ReadAll(ctx context.Context, after int64, limit int) ([]eventstore.Event, error) {
	events, err := s.Store.ReadAll(ctx, after, limit)
	for i := range events {
		if events[i].Position == s.bad {
			events[i].Data = []byte(`{"party_id":`)
		}
	}
	return events, err
}

// TestRebuildStoppedHalfWayResumes checks that a rebuild stopped half-way,
// while the register holds its rows in memory (see holder), leaves tables
// and checkpoints from which Run catches up to exactly the rows a complete
// rebuild and the live model have: stopped by cancellation between
// batches, by a batch that fails, with the register holding everything or
// writing whenever its (small) bound is reached; and then after a restart
// (a new Open on the same file) as after a crash.
func TestRebuildStoppedHalfWayResumes(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	live := MustOpenReadModel(t, store)
	stopLive := MustRun(t, live)
	l := newLedger(t, store)
	scenario(l, func() { MustWait(t, live, l.head) })
	for i := range 12 { // more parties than the small bound below, many batches
		p := l.identify("Partner "+string(rune('A'+i)), "partner", "external", "")
		l.requirement(p, "requirement", "NDA")
		l.revise(domain.ReviseParty{PartyID: p, Description: ptr("partner " + string(rune('a'+i)))})
	}
	MustWait(t, live, l.head)
	stopLive()
	want := dumpTables(t, live.db)
	wantViews := mustViews(t, live)

	// A position half-way whose event the projections decode.
	var bad int64
	events, err := store.ReadAll(ctx, l.head/2, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range events {
		if ev.Type == domain.EventPartyRevised || ev.Type == domain.EventRequirementIdentified {
			bad = ev.Position
			break
		}
	}
	if bad == 0 {
		t.Fatal("no party event after the middle of the log")
	}

	for _, tc := range []struct {
		name    string
		cache   int  // the rebuild's cache bound (register rows held)
		cancel  bool // stop by cancelling after a few batches, else a failing batch
		restart bool // a new Open on the same file before Run (a crash)
	}{
		{"cancelled", rebuildCacheParties, true, false},
		{"cancelled-restart", rebuildCacheParties, true, true},
		{"failed-batch", rebuildCacheParties, false, false},
		{"failed-batch-restart", rebuildCacheParties, false, true},
		{"small-bound-cancelled", 2, true, true},
		{"small-bound-failed-batch", 2, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := MustOpenDB(t)
			var src eventstore.Store = store
			if !tc.cancel {
				src = faultStore{Store: store, bad: bad}
			}
			m, err := Open(ctx, db, src, nil)
			if err != nil {
				t.Fatal(err)
			}
			m.rebuildBatch, m.rebuildCache = 5, tc.cache
			// A first complete rebuild, so that the stopped one has rows to wipe.
			m.store = store
			if err := m.Rebuild(ctx); err != nil {
				t.Fatal(err)
			}
			m.store = src

			rctx, cancel := context.WithCancel(ctx)
			defer cancel()
			batches := 0
			err = m.RebuildWith(rctx, RebuildOptions{Progress: func(phase string, applied, head int64) {
				if phase == PhaseReplay {
					if batches++; tc.cancel && applied >= head/2 {
						cancel()
					}
				}
			}})
			if err == nil {
				t.Fatal("the rebuild was not stopped")
			}
			if batches < 2 || batches >= int(l.head)/5 {
				t.Fatalf("stopped after %d batches, want half-way", batches)
			}
			cps := checkpointRows(t, db)
			if tc.cache == rebuildCacheParties && cps["register"] != 0 {
				t.Errorf("register checkpoint %d after a stopped rebuild, want 0 (held rows not written)", cps["register"])
			}
			if cps["audit"] < int64(batches-1)*5 {
				t.Errorf("audit checkpoint %d after %d batches", cps["audit"], batches)
			}
			if got := countRows(t, db, "parties"); cps["register"] == 0 && got != 0 {
				t.Errorf("%d parties written with the register's checkpoint at 0", got)
			}

			// What the register held is forgotten, not written later by Run
			// on top of checkpoints that do not cover it.
			for _, p := range m.projs {
				if r, ok := p.(*register); ok && (len(r.dirty) > 0 || len(r.cache) > 0) {
					t.Errorf("register keeps %d dirty, %d cached parties after a stopped rebuild", len(r.dirty), len(r.cache))
				}
			}
			if tc.restart {
				if m, err = Open(ctx, db, store, nil); err != nil {
					t.Fatal(err)
				}
			} else {
				m.store = store
			}
			MustRun(t, m)
			MustWait(t, m, l.head)
			if diff := cmp.Diff(want, dumpTables(t, db)); diff != "" {
				t.Errorf("caught up after a stopped rebuild, rows differ (-live +resumed):\n%s", diff)
			}
			if diff := cmp.Diff(wantViews, mustViews(t, m)); diff != "" {
				t.Errorf("caught up after a stopped rebuild, views differ (-live +resumed):\n%s", diff)
			}
		})
	}

	// And a complete rebuild with a small bound equals the live model too.
	fresh := MustOpenReadModel(t, store)
	fresh.rebuildBatch, fresh.rebuildCache = 3, 1
	if err := fresh.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, dumpTables(t, fresh.db)); diff != "" {
		t.Errorf("rebuilt with a small bound (-live +rebuilt):\n%s", diff)
	}
}

// checkpointRows returns the stored checkpoints by projection name.
func checkpointRows(tb testing.TB, db *sql.DB) map[string]int64 {
	tb.Helper()
	rows, err := db.Query(`SELECT name, position FROM checkpoints`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var pos int64
		if err := rows.Scan(&name, &pos); err != nil {
			tb.Fatal(err)
		}
		out[name] = pos
	}
	return out
}

// countRows returns the number of rows of table.
func countRows(tb testing.TB, db *sql.DB, table string) int {
	tb.Helper()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}
