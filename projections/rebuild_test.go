package projections

import (
	"context"
	"database/sql"
	"slices"
	"testing"
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
