package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// rebuildDeferredIndexes are the secondary indexes that no apply reads:
// the audit index's filters and the feed's time index. Keeping them
// updated row by row was most of a rebuild's index work, so
// [ReadModel.Rebuild] drops them before the replay and builds each once
// after it. Indexes that an apply reads (a party's requirements, the name
// lookup) are not deferred: dropping them would make the replay quadratic.
var rebuildDeferredIndexes = []string{
	"audit_stream", "audit_party", "audit_requirement", "audit_type", "audit_actor",
	"audit_trigger", "audit_tmax", "audit_late", "changes_time",
}

// RebuildOptions tunes [ReadModel.RebuildWith].
type RebuildOptions struct {
	// Progress, if set, is called after each committed batch with the
	// position applied and the head being rebuilt to, and once more (phase
	// "indexes") before the deferred indexes are built.
	Progress func(phase string, applied, head int64)
}

// Rebuild phases reported to [RebuildOptions.Progress].
const (
	PhaseReplay  = "replay"
	PhaseIndexes = "indexes"
)

// dropDeferredIndexes records and drops the deferred indexes in tx. The
// record lets [restoreDeferredIndexes] create them again even after a crash.
func dropDeferredIndexes(ctx context.Context, tx *sql.Tx) error {
	for _, name := range rebuildDeferredIndexes {
		var stmt string
		err := tx.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?`, name).Scan(&stmt)
		if errors.Is(err, sql.ErrNoRows) {
			continue // already dropped (and recorded), or gone from the schema
		}
		if err != nil {
			return fmt.Errorf("defer index %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO deferred_indexes (name, sql) VALUES (?, ?)`, name, stmt); err != nil {
			return fmt.Errorf("defer index %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `DROP INDEX `+name); err != nil {
			return fmt.Errorf("defer index %s: %w", name, err)
		}
	}
	return nil
}

// restoreDeferredIndexes creates every recorded deferred index again, in
// one transaction with the removal of its record.
func restoreDeferredIndexes(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("restore indexes: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT name, sql FROM deferred_indexes ORDER BY name`)
	if err != nil {
		return fmt.Errorf("restore indexes: %w", err)
	}
	var stmts [][2]string
	for rows.Next() {
		var name, stmt string
		if err := rows.Scan(&name, &stmt); err != nil {
			rows.Close()
			return fmt.Errorf("restore indexes: %w", err)
		}
		stmts = append(stmts, [2]string{name, stmt})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("restore indexes: %w", err)
	}
	// Let SQLite's sorter use a second thread for the index builds.
	if _, err := tx.ExecContext(ctx, `PRAGMA threads = 2`); err != nil {
		return fmt.Errorf("restore indexes: %w", err)
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s[1]); err != nil {
			return fmt.Errorf("restore index %s: %w", s[0], err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM deferred_indexes`); err != nil {
		return fmt.Errorf("restore indexes: %w", err)
	}
	return tx.Commit()
}
