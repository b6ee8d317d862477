package projections

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/partyledger/partyledger/domain"
)

var stateCmp = cmp.AllowUnexported(partyState{}, reqState{})

// mustRoundTrip encodes st, decodes it and checks that the state came back
// as it was, field for field (nil and empty kept apart), and that encoding
// it again gives the same bytes.
func mustRoundTrip(tb testing.TB, st *partyState) []byte {
	tb.Helper()
	data := appendState(nil, st)
	got, err := decodeState(string(data))
	if err != nil {
		tb.Fatalf("decode party %s: %v", st.p.ID, err)
	}
	if diff := cmp.Diff(st, got, stateCmp); diff != "" {
		tb.Fatalf("party %s after an encoding round trip (-want +got):\n%s", st.p.ID, diff)
	}
	if again := appendState(nil, got); string(again) != string(data) {
		tb.Fatalf("party %s: a decoded state encodes to other bytes", st.p.ID)
	}
	return data
}

// TestStateEncodingRoundTrip checks the binary encoding of snapshot states
// on every party of a random register at random moments, and on a
// hand-made state that sets what the random life does not (plan entries,
// review dates, a requirement without its register state, nil and empty
// slices and maps).
func TestStateEncodingRoundTrip(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	l := newLedger(t, store)
	rng := rand.New(rand.NewPCG(3, 9))
	randomLife(l, rng, 300, func() {})
	for _, upTo := range []int64{l.head / 3, l.head / 2, l.head} {
		s, err := FoldRegister(ctx, store, AsOf{Position: upTo}, upTo)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.parties) == 0 {
			t.Fatalf("no parties at %d", upTo)
		}
		for _, st := range s.parties {
			mustRoundTrip(t, st)
		}
	}

	due, yes, no := "2027-01-31", true, false
	parent := domain.PartyID("p-parent")
	st := &partyState{
		p: domain.Party{ID: "p-1", Version: 42, Name: "Ünïcode name", Category: "supplier", Scope: "external",
			Description: "", Owner: "CISO", Influence: -1, Interest: 1 << 40, ParentID: &parent, Status: "retired",
			Requirements: map[domain.RequirementID]*domain.Requirement{
				"r-1": {ID: "r-1", PartyID: "p-1", Kind: "requirement", Title: "t", ReviewDue: &due, Addressed: &yes,
					Controls: []string{"A.5.19", "A.8.1"}, Status: "active"},
				"r-2": {ID: "r-2", PartyID: "p-1", Addressed: &no, Controls: []string{}, Status: "retired"},
				"r-3": {ID: "r-other", PartyID: "p-other", Rationale: "ids differ from the keys"},
			},
			Order: []domain.RequirementID{"r-1", "r-2", "r-3"},
			Plan: map[domain.PlanEntryID]*domain.PlanEntry{
				"e-1": {ID: "e-1", Topic: "outage", When: "monthly", Frequency: "monthly", Channel: "mail",
					Communicator: "CISO", Priority: "high"},
				"e-2": nil,
			}},
		created: "2026-01-01T00:00:00.000000000Z", updated: "2026-02-01T00:00:00.000000000Z",
		reqs: map[domain.RequirementID]*reqState{
			"r-1": {seq: 7, created: "a", updated: "b"},
			"r-2": {seq: 1 << 50},
			"r-4": {seq: 3}, // a register state without its requirement
		},
	}
	data := mustRoundTrip(t, st)
	// The fold writes into Requirements and reqs: a state always has them
	// (decodeState makes them), nil or empty Order and Plan are kept apart.
	mustRoundTrip(t, &partyState{p: domain.Party{ID: "p-nil", Requirements: map[domain.RequirementID]*domain.Requirement{}},
		reqs: map[domain.RequirementID]*reqState{}})
	mustRoundTrip(t, &partyState{p: domain.Party{ID: "p-empties", Requirements: map[domain.RequirementID]*domain.Requirement{},
		Order: []domain.RequirementID{}, Plan: map[domain.PlanEntryID]*domain.PlanEntry{}}, reqs: map[domain.RequirementID]*reqState{}})

	// A cut or altered row is an error, never a wrong state.
	for n := range len(data) {
		if _, err := decodeState(string(data[:n])); err == nil {
			t.Fatalf("a state cut to %d of %d bytes decoded without an error", n, len(data))
		}
	}
	if _, err := decodeState(string(data) + "x"); err == nil {
		t.Fatal("a state with a trailing byte decoded without an error")
	}
	if _, err := decodeState(`{"party":{}}`); err == nil {
		t.Fatal("a JSON state of round two decoded without an error (migration 0013 drops them)")
	}
}

// TestStateEncodingCoversTheState fails when a field is added to a type a
// snapshot state holds: appendState and decodeState must then write and
// read it (and this count be raised), or as_of from a snapshot would lose
// it silently.
func TestStateEncodingCoversTheState(t *testing.T) {
	for _, c := range []struct {
		v      any
		fields int
	}{
		{partyState{}, 5}, // p, created, updated, reqs, dirty (not stored: false in a snapshot)
		{reqState{}, 4},   // seq, created, updated, dirty (not stored)
		{domain.Party{}, 14},
		{domain.Requirement{}, 15},
		{domain.PlanEntry{}, 7},
	} {
		if n := reflect.TypeOf(c.v).NumField(); n != c.fields {
			t.Errorf("%T has %d fields, the snapshot state encoding knows %d: extend appendState and decodeState",
				c.v, n, c.fields)
		}
	}
}

// TestSnapshotsJSONRowsRebuilt checks migration 0013 on a read model whose
// snapshots were written in round two's JSON: the rows are dropped, the
// snapshots projection alone rebuilds them from the log on the next Run,
// in the binary encoding and equal to the snapshots a fresh read model
// writes, and as_of from them equals a full fold.
func TestSnapshotsJSONRowsRebuilt(t *testing.T) {
	ctx := context.Background()
	const every = 5
	store := MustOpenStore(t)
	path := filepath.Join(t.TempDir(), "read.db")
	open := func() (*ReadModel, *sql.DB) { return openSnapshotModel(t, store, path, every) }
	m, db := open()
	stop := MustRun(t, m)
	l := newLedger(t, store)
	randomLife(l, rand.New(rand.NewPCG(8, 8)), 60, func() {})
	MustWait(t, m, l.head)
	stop()
	want := snapshotRows(t, db)
	if len(want["register_snapshot_parties"]) == 0 {
		t.Fatal("no snapshot states written")
	}

	// Make the file look as round two left it: JSON states, and the
	// migration not applied.
	for _, q := range []string{
		`UPDATE register_snapshot_parties SET data = CAST('{"party":{"ID":"x"},"reqs":{}}' AS BLOB)`,
		`DELETE FROM projection_migrations WHERE name LIKE '%snapshot_binary%'`,
	} {
		res, err := db.ExecContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			t.Fatalf("%s changed nothing", q)
		}
	}
	db.Close()

	m, db = open()
	var rows, cp int64
	if err := db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM register_snapshot_parties),
		(SELECT position FROM checkpoints WHERE name = 'register_snapshots')`).Scan(&rows, &cp); err != nil {
		t.Fatal(err)
	}
	if rows != 0 || cp != 0 {
		t.Fatalf("after the migration: %d snapshot states, checkpoint %d; want 0 and 0", rows, cp)
	}
	stop = MustRun(t, m)
	MustWait(t, m, l.head)
	stop()
	if diff := cmp.Diff(want, snapshotRows(t, db)); diff != "" {
		t.Fatalf("snapshots rebuilt after the migration differ from those written live:\n%s", diff)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		pos := rng.Int64N(l.head + 1)
		mustSameRegister(t, m, store, AsOf{Position: pos}, pos, every)
	}
}
