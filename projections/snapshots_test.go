package projections

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/eventstore/sqlite"
)

// snapshotRows returns the stored snapshots: headers and party states.
func snapshotRows(tb testing.TB, db *sql.DB) map[string][][]any {
	tb.Helper()
	all := dumpTables(tb, db)
	return map[string][][]any{
		"register_snapshots":        all["register_snapshots"],
		"register_snapshot_parties": all["register_snapshot_parties"],
	}
}

// mustSameRegister checks that the register as of at, from the persistent
// snapshots, is what a fold of the whole log gives, and that it read at most
// every events after its snapshot.
func mustSameRegister(tb testing.TB, m *ReadModel, store eventstore.Store, at AsOf, upTo, every int64) {
	tb.Helper()
	ctx := context.Background()
	got, err := m.SnapshotAt(ctx, at)
	if err != nil {
		tb.Fatal(err)
	}
	want, err := FoldRegister(ctx, store, at, upTo)
	if err != nil {
		tb.Fatal(err)
	}
	for _, f := range filters {
		g, err := got.Register(f)
		if err != nil {
			tb.Fatal(err)
		}
		w, err := want.Register(f)
		if err != nil {
			tb.Fatal(err)
		}
		if diff := cmp.Diff(w, g); diff != "" {
			tb.Fatalf("register %+v as of %s from snapshots differs from the full fold (-fold +snapshots):\n%s", f, at, diff)
		}
	}
	for id := range want.parties {
		g, gerr := got.Party(string(id))
		w, werr := want.Party(string(id))
		if gerr != nil || werr != nil {
			tb.Fatalf("party %s as of %s: %v / %v", id, at, gerr, werr)
		}
		if diff := cmp.Diff(w, g); diff != "" {
			tb.Fatalf("party %s as of %s (-fold +snapshots):\n%s", id, at, diff)
		}
	}
	if got.Position != want.Position {
		tb.Fatalf("as of %s: position %d, the full fold's %d", at, got.Position, want.Position)
	}
	snap, err := m.loadSnapshot(ctx, at, upTo)
	if err != nil {
		tb.Fatal(err)
	}
	if at.Time.IsZero() && upTo-snap.through >= every {
		tb.Fatalf("as of %s: the closest snapshot is at %d, %d events before", at, snap.through, upTo-snap.through)
	}
}

// TestSnapshotsEqualFullFold checks the persistent as_of snapshots: the
// register as of random positions and times, read from a snapshot plus the
// events after it, equals a fold of the whole log; the snapshots survive a
// restart (a new ReadModel on the same file) and carry on from there; a
// rebuild recreates exactly the same rows.
func TestSnapshotsEqualFullFold(t *testing.T) {
	ctx := context.Background()
	const every = 7
	store := MustOpenStore(t)
	path := filepath.Join(t.TempDir(), "read.db")
	open := func() (*ReadModel, *sql.DB) { return openSnapshotModel(t, store, path, every) }
	m, db := open()
	stop := MustRun(t, m)
	l := newLedger(t, store)
	rng := rand.New(rand.NewPCG(17, 4))
	randomLife(l, rng, 120, func() {})
	MustWait(t, m, l.head)
	stop()

	head := l.head
	rows := snapshotRows(t, db)
	if n := int64(len(rows["register_snapshots"])); n != head/every {
		t.Fatalf("%d snapshots for %d events, want one every %d positions (%d)", n, head, every, head/every)
	}
	check := func(m *ReadModel, head int64) {
		t.Helper()
		evs, err := store.ReadAll(ctx, 0, int(head))
		if err != nil {
			t.Fatal(err)
		}
		for range 40 {
			pos := rng.Int64N(head + 1)
			mustSameRegister(t, m, store, AsOf{Position: pos}, pos, every)
			ev := evs[rng.IntN(len(evs))]
			for _, tm := range []time.Time{ev.Time, ev.Time.Add(30 * time.Second)} {
				upTo, err := m.PositionAt(ctx, tm)
				if err != nil {
					t.Fatal(err)
				}
				mustSameRegister(t, m, store, AsOf{Time: tm}, upTo, every)
			}
		}
		mustSameRegister(t, m, store, AsOf{Position: head}, head, every)
	}
	check(m, head)

	// Restart: the rows are there as they were, and new events carry on.
	m, db = open()
	if diff := cmp.Diff(rows, snapshotRows(t, db)); diff != "" {
		t.Fatalf("snapshots after a restart differ:\n%s", diff)
	}
	check(m, head)
	stop = MustRun(t, m)
	for i := range 20 {
		id := l.identify(fmt.Sprintf("Later %02d", i), "supplier", "external", "")
		l.requirement(id, "requirement", fmt.Sprintf("Later requirement %02d", i))
	}
	MustWait(t, m, l.head)
	stop()
	head = l.head
	rows = snapshotRows(t, db)
	if n := int64(len(rows["register_snapshots"])); n != head/every {
		t.Fatalf("%d snapshots for %d events after a restart, want %d", n, head, head/every)
	}
	check(m, head)

	// A rebuild recreates them, row for row.
	if err := m.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rows, snapshotRows(t, db)); diff != "" {
		t.Fatalf("snapshots after a rebuild differ from the live ones:\n%s", diff)
	}
	check(m, head)
}

// openSnapshotModel opens a read model on the file at path that writes an
// as_of snapshot every `every` positions, closed when the test ends.
func openSnapshotModel(t *testing.T, store eventstore.Store, path string, every int64) (*ReadModel, *sql.DB) {
	t.Helper()
	db, err := sqlite.OpenDB(path, sqlite.WithSynchronous(sqlite.SynchronousNormal))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	m, err := Open(context.Background(), db, store, nil, WithSnapshotInterval(every))
	if err != nil {
		t.Fatal(err)
	}
	return m, db
}
