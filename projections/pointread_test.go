package projections

import (
	"context"
	"database/sql/driver"
	"reflect"
	"testing"
)

// TestPointReadsStayPrepared checks that the point-read statements (one
// party, its relationships) keep their prepared plan from call to call.
// SQLite re-prepares a statement on the next step after a bind when it
// judged, while planning, that the bound value might change the plan (a
// bare "col = ?" beside an ORDER BY, for one); the re-prepare then costs
// more than the read. go-sqlite3 counts re-prepares per statement
// (SQLITE_STMTSTATUS_REPREPARE) in an unexported field, read here; the test
// skips if a driver version renames it.
func TestPointReadsStayPrepared(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	m := MustOpenReadModel(t, store)
	MustRun(t, m)
	l := newLedger(t, store)
	var ids []string
	for _, name := range []string{"Alpha", "Beta", "Gamma"} {
		id := l.identify(name, "customer", "external", "")
		l.requirement(id, "requirement", name+" requirement")
		ids = append(ids, string(id))
	}
	MustWait(t, m, l.head)
	conn, err := m.pdb.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for name, q := range map[string]string{"party": partyQuery, "relationships": partyRelationshipsQuery} {
		err := conn.Raw(func(dc any) error {
			st, err := dc.(driver.ConnPrepareContext).PrepareContext(ctx, q)
			if err != nil {
				return err
			}
			defer st.Close()
			field := reflect.ValueOf(st).Elem().FieldByName("repreps")
			if !field.IsValid() || !field.CanInt() {
				t.Skipf("%T has no re-prepare count to read", st)
			}
			for i, id := range append(ids, ids...) {
				rows, err := st.(driver.StmtQueryContext).QueryContext(ctx, []driver.NamedValue{{Ordinal: 1, Value: id}})
				if err != nil {
					return err
				}
				dest := make([]driver.Value, len(rows.Columns()))
				n := 0
				for rows.Next(dest) == nil {
					n++
				}
				rows.Close()
				if name == "party" && n != 1 {
					t.Errorf("party %s: %d rows, want 1 (the party and its one requirement)", id, n)
				}
				if got := field.Int(); got > 0 {
					t.Fatalf("%s: re-prepared %d times in %d calls: the plan depends on the bound id", name, got, i+1)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
