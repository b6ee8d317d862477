package projections

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/partyledger/partyledger/domain"
)

// queryPlan returns the EXPLAIN QUERY PLAN lines of q, one detail a line.
func queryPlan(tb testing.TB, db *sql.DB, q string, args ...any) string {
	tb.Helper()
	rows, err := db.Query(`EXPLAIN QUERY PLAN `+q, args...)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			tb.Fatal(err)
		}
		lines = append(lines, detail)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// TestRegisterPageQueryPlans checks that a register page reads its parties
// in order from the register's order index, whatever the filter, and its
// requirements from the party index, with no sort (a sort of every party
// was what made a page cost the whole register).
func TestRegisterPageQueryPlans(t *testing.T) {
	store := MustOpenStore(t)
	m := MustOpenReadModel(t, store)
	MustRun(t, m)
	l := newLedger(t, store)
	scenario(l, func() {})
	MustWait(t, m, l.head)
	// With statistics the planner knows how few statuses there are; the
	// plan must hold with them and without.
	for _, analyze := range []bool{false, true} {
		if analyze {
			if _, err := m.db.Exec(`ANALYZE`); err != nil {
				t.Fatal(err)
			}
		}
		for name, f := range filters {
			where, args, err := f.where()
			if err != nil {
				t.Fatal(err)
			}
			args = append(args, 1, "supplier", "x", DefaultPageLimit+1)
			plan := queryPlan(t, m.db, registerQueryHead+where+registerQueryTail, args...)
			want := "parties_register_order "
			if f.Status == StatusAll {
				want = "parties_register_order_all "
			}
			if !strings.Contains(plan, want) || strings.Contains(plan, "TEMP B-TREE") {
				t.Errorf("filter %s (analyze %v): plan\n%s\nwant %q and no TEMP B-TREE", name, analyze, plan, want)
			}
		}
		if analyze {
			continue // a scenario's few requirements are cheaper to scan and sort
		}
		plan := queryPlan(t, m.db, activeRequirementsQuery(3), "active", "a", "b", "c")
		if !strings.Contains(plan, "requirements_party") || strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("requirements of a page: plan\n%s", plan)
		}
	}
}

// TestRegisterOrderMigratesExistingReadModel checks that a read model
// written before migration 0014 (no register_rank column, no order index)
// takes it on Open without a rebuild, and then lists the same register in
// the same order, in pages.
func TestRegisterOrderMigratesExistingReadModel(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	db := MustOpenDB(t)
	m, err := Open(ctx, db, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	stop := MustRun(t, m)
	l := newLedger(t, store)
	scenario(l, func() {})
	for _, n := range []string{"Zeta", "alpha", "Beta", "beta two", "Gamma"} {
		scope := "internal"
		if n[0] < 'a' {
			scope = "external"
		}
		id := l.identify(n, "partner", scope, "")
		l.requirement(id, "expectation", "Keep "+n+" informed")
	}
	MustWait(t, m, l.head)
	stop()
	want, err := m.Register(ctx, PartyFilter{Status: StatusAll})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := m.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// Take the read model back to before 0014.
	for _, q := range []string{
		`DROP INDEX parties_register_order`,
		`DROP INDEX parties_register_order_all`,
		`ALTER TABLE parties DROP COLUMN register_rank`,
		`DELETE FROM projection_migrations WHERE name LIKE '%/0014_register_order%'`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	m, err = Open(ctx, db, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := m.Checkpoint(ctx); err != nil || got != cp {
		t.Fatalf("checkpoint after the migration %d (%v), want %d: no rebuild", got, err, cp)
	}
	got := walkRegisterPages(t, m, PartyFilter{Status: StatusAll}, 2)
	if len(want) < 6 {
		t.Fatalf("only %d parties", len(want))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("register after the migration (-before +after):\n%s", diff)
	}
	// The order is the register's: internal parties first, then by name key.
	for i := 1; i < len(got); i++ {
		if compareRegister(registerCursor(got[i-1]), registerCursor(got[i])) >= 0 {
			t.Errorf("register out of order at %d: %q (%s) before %q (%s)", i,
				got[i-1].Name, got[i-1].Scope, got[i].Name, got[i].Scope)
		}
	}
}

// TestRegisterChunksEqualOneRead checks that reading the register in
// chunks of any size (the whole register, and pages longer than a chunk)
// gives what one chunk gives: every party once, in order, each with its
// own active requirements.
func TestRegisterChunksEqualOneRead(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	m := MustOpenReadModel(t, store)
	MustRun(t, m)
	l := newLedger(t, store)
	scenario(l, func() {})
	for _, n := range []string{"Zeta", "alpha", "Beta", "beta two", "Gamma", "delta"} {
		id := l.identify(n, "partner", "internal", "")
		l.requirement(id, "expectation", "Keep "+n+" informed")
		l.requirement(id, "requirement", "Tell "+n+" first")
	}
	MustWait(t, m, l.head)
	defer func(n int) { registerChunk = n }(registerChunk)
	for _, f := range []PartyFilter{{}, {Status: StatusAll}, {Status: domain.StatusRetired}, {Scope: "internal"}} {
		registerChunk = 256
		want, err := m.Register(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if f.Status == "" && len(want) < 7 {
			t.Fatalf("only %d parties", len(want))
		}
		reqs := 0
		for _, p := range want {
			reqs += len(p.Requirements)
		}
		if f.Status == "" && reqs < 12 {
			t.Fatalf("only %d requirements", reqs)
		}
		for _, chunk := range []int{1, 2, 3} {
			registerChunk = chunk
			got, err := m.Register(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("register %+v in chunks of %d (-one chunk +chunks):\n%s", f, chunk, diff)
			}
			got = walkRegisterPages(t, m, f, 5)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("register %+v in pages of 5, chunks of %d (-one chunk +pages):\n%s", f, chunk, diff)
			}
		}
	}
}

// walkRegisterPages reads the register of filter f page by page (limit
// parties a page, at most 100 pages) and returns every party read.
func walkRegisterPages(t *testing.T, m *ReadModel, f PartyFilter, limit int) []PartyView {
	t.Helper()
	var got []PartyView
	for pg, i := (Page{Limit: limit}), 0; i < 100; i++ {
		next, err := m.EachRegisterParty(context.Background(), f, pg, func(p PartyView) error {
			got = append(got, p)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if next.IsZero() {
			return got
		}
		pg.After = next
	}
	t.Fatalf("register %+v: more than 100 pages of %d", f, limit)
	return nil
}
