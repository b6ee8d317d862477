package sqlite

import (
	"context"
	"database/sql"
	"embed"

	schema "github.com/partyledger/partyledger/eventstore/sqlite/migrate"
)

// migrationFS holds the schema, one numbered file per change. Files are
// applied in name order and never edited once released: a schema change is a
// new file.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// migrations is where the event log records its applied migrations.
var migrations = schema.Table{
	Name: "migrations",
	Create: `CREATE TABLE IF NOT EXISTS migrations (
		name       TEXT PRIMARY KEY,
		applied_at TEXT NOT NULL
	)`,
	Stamped: true,
}

// migrate applies every migration not yet recorded in the migrations table,
// each in its own transaction together with its record, so a crash leaves
// the schema at a migration boundary.
func migrate(ctx context.Context, db *sql.DB) error {
	return schema.Run(ctx, db, migrationFS, "migrations", migrations)
}
