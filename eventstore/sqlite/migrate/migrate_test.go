package migrate_test

import (
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/partyledger/partyledger/eventstore/sqlite"
	"github.com/partyledger/partyledger/eventstore/sqlite/migrate"
)

var tables = []migrate.Table{
	{Name: "stamped", Stamped: true,
		Create: `CREATE TABLE IF NOT EXISTS stamped (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`},
	{Name: "plain", Create: `CREATE TABLE IF NOT EXISTS plain (name TEXT PRIMARY KEY) STRICT`},
}

// TestRun applies files once each, in name order, and leaves no trace of a
// failed one: neither its schema change nor its record.
func TestRun(t *testing.T) {
	for _, tb := range tables {
		t.Run(tb.Name, func(t *testing.T) {
			ctx := t.Context()
			db, err := sqlite.OpenDB(filepath.Join(t.TempDir(), "m.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			count := func(q string) int {
				t.Helper()
				var n int
				if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			fsys := fstest.MapFS{
				"m/0002_b.sql": {Data: []byte(`INSERT INTO a (x) VALUES (2)`)},
				"m/0001_a.sql": {Data: []byte(`CREATE TABLE a (x INTEGER)`)},
				"m/notes.txt":  {Data: []byte(`not a migration`)},
			}
			for range 2 {
				if err := migrate.Run(ctx, db, fsys, "m", tb); err != nil {
					t.Fatal(err)
				}
			}
			if n := count(`SELECT COUNT(*) FROM a`); n != 1 {
				t.Fatalf("0002 applied %d times, want 1", n)
			}
			if n := count(`SELECT COUNT(*) FROM ` + tb.Name + ` WHERE name IN ('m/0001_a.sql', 'm/0002_b.sql')`); n != 2 {
				t.Fatalf("records: %d, want 2", n)
			}

			fsys["m/0003_c.sql"] = &fstest.MapFile{Data: []byte(`CREATE TABLE c (y INTEGER); INSERT INTO nowhere VALUES (1);`)}
			if err := migrate.Run(ctx, db, fsys, "m", tb); err == nil {
				t.Fatal("a failing migration was accepted")
			}
			if n := count(`SELECT COUNT(*) FROM sqlite_schema WHERE name = 'c'`); n != 0 {
				t.Fatal("the failed migration left its table behind")
			}
			if n := count(`SELECT COUNT(*) FROM ` + tb.Name); n != 2 {
				t.Fatalf("records after a failed migration: %d, want 2", n)
			}
		})
	}
}
