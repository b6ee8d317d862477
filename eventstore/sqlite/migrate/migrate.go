// Package migrate applies numbered SQL migration files to a SQLite database
// and records each applied file in a table, so that every schema (the event
// log, the read model) runs the same code to reach its current version.
package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"time"

	"github.com/partyledger/partyledger/eventstore"
)

// Table describes the table in which a schema records its applied
// migrations. Its rows are keyed by the migration's file name (with dir),
// so the description of an existing table must never change.
type Table struct {
	// Name is the table's name.
	Name string
	// Create is the statement that creates the table if it does not exist.
	// The table has a column name and, when Stamped, a column applied_at.
	Create string
	// Stamped says that each row also records, in applied_at, the time the
	// migration was applied (eventstore.FormatTime).
	Stamped bool
}

// Run applies every file dir/*.sql in fsys that t does not record yet, in
// name order, each in its own transaction together with its row in t, so a
// failed migration leaves no trace and a crash leaves the schema at a
// migration boundary. It creates t first if it does not exist.
func Run(ctx context.Context, db *sql.DB, fsys fs.FS, dir string, t Table) error {
	if _, err := db.ExecContext(ctx, t.Create); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	names, err := fs.Glob(fsys, path.Join(dir, "*.sql"))
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		if err := runFile(ctx, db, fsys, name, t); err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	return nil
}

// runFile applies the migration name unless t records it.
func runFile(ctx context.Context, db *sql.DB, fsys fs.FS, name string, t Table) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	var n int
	if err := tx.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM `+t.Name+` WHERE name = ?`, name).Scan(&n); err != nil {
		return err
	}
	if n != 0 {
		return nil
	}
	script, err := fs.ReadFile(fsys, name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(script)); err != nil {
		return err
	}
	if t.Stamped {
		_, err = tx.ExecContext(ctx, `INSERT INTO `+t.Name+` (name, applied_at) VALUES (?, ?)`,
			name, eventstore.FormatTime(time.Now()))
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO `+t.Name+` (name) VALUES (?)`, name)
	}
	if err != nil {
		return err
	}
	return tx.Commit()
}
