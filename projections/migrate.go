package projections

import (
	"context"
	"database/sql"
	"embed"

	schema "github.com/partyledger/partyledger/eventstore/sqlite/migrate"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrations is where the read model records its applied migrations.
var migrations = schema.Table{
	Name:   "projection_migrations",
	Create: `CREATE TABLE IF NOT EXISTS projection_migrations (name TEXT PRIMARY KEY) STRICT`,
}

// migrate applies the embedded migrations that db has not seen yet, in name
// order, each in its own transaction together with its row in
// projection_migrations, so a failed migration leaves no trace.
//
// A migration that changes what a projection stores should also wipe that
// projection's rows and set its checkpoint to 0: the projection then rebuilds
// itself from the log on the next Run while the others resume where they were.
func migrate(ctx context.Context, db *sql.DB) error {
	return schema.Run(ctx, db, migrationFS, "migrations", migrations)
}
