package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/partyledger/partyledger/eventstore"
)

// rebuildDeferredIndexes are the secondary indexes that no apply reads and
// whose keys arrive in random order: the audit index's filters by stream,
// party, requirement, type, actor and trigger. Keeping them updated row by
// row was most of a rebuild's index work, so [ReadModel.Rebuild] drops
// them before the replay and builds each once after it. Indexes that an
// apply reads (a party's requirements, the name lookup) are not deferred:
// dropping them would make the replay quadratic. Nor are the indexes whose
// keys grow with the position (audit_tmax, audit_late, changes_time: the
// recorded time, or its running maximum): kept row by row they only append
// at their right edge, which cost less in the replay than sorting them
// afresh after it (measured, issue 17).
var rebuildDeferredIndexes = []string{
	"audit_stream", "audit_party", "audit_requirement", "audit_type", "audit_actor",
	"audit_trigger",
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
	if len(stmts) == 0 {
		return nil // nothing deferred (every Open but the one after a dead rebuild)
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

// RebuildBatch is how many events [ReadModel.Rebuild] reads and applies per
// transaction.
const RebuildBatch = 4096

// Rebuild wipes every read-model row and checkpoint, then replays the log
// from position 0 up to the store's head (read when Rebuild starts) in
// batches of [RebuildBatch] events, one transaction each. Queries made while
// it runs see a partial register.
//
// Rebuild must not run concurrently with Run: stop Run, Rebuild, then start
// Run again. (Batches are serialised, so an overlap cannot corrupt the tables,
// but Run would be stalled for the whole rebuild.) If Rebuild fails, the
// tables hold a prefix of the log with consistent checkpoints, and Run or
// another Rebuild carries on from there.
//
// The register keeps every party it folds in memory for the whole replay
// and writes each once at the end, with its checkpoint, in one transaction
// (or earlier, whenever it holds more than the rebuild's cache bound of
// parties); the other projections commit each batch as it is applied. A
// rebuild that stops early leaves the register's checkpoint (and rows) at
// the last point it wrote, behind the others', and Run catches it up.
//
// The secondary indexes no apply reads are dropped for the replay and built
// once at the end (see rebuildDeferredIndexes); if Rebuild dies half-way,
// the next [Open] builds them.
func (m *ReadModel) Rebuild(ctx context.Context) error {
	return m.RebuildWith(ctx, RebuildOptions{})
}

// RebuildWith is [ReadModel.Rebuild] with options (progress reports).
func (m *ReadModel) RebuildWith(ctx context.Context, o RebuildOptions) (err error) {
	start := time.Now()
	m.applyMu.Lock()
	defer m.applyMu.Unlock()
	if err := m.wipe(ctx, true); err != nil {
		return fmt.Errorf("projections: rebuild: %w", err)
	}
	stopCheckpoints := m.checkpointBeside(ctx)
	defer stopCheckpoints()
	var applied int64
	// The register holds its rows in memory for the whole replay and
	// writes them once at the end (see holder): every touched party was
	// upserted at each batch's end before.
	m.holding = true
	defer m.dropHeldLocked() // after a failure; a no-op after flushHeldLocked
	defer func() {
		if o.Progress != nil {
			o.Progress(PhaseIndexes, applied, applied)
		}
		// Not cancellable: the indexes must come back even when the
		// rebuild was interrupted.
		if rerr := restoreDeferredIndexes(context.WithoutCancel(ctx), m.wdb); rerr != nil {
			err = errors.Join(err, fmt.Errorf("projections: rebuild: %w", rerr))
		}
	}()
	head, _, err := m.store.Head(ctx)
	if err != nil {
		return fmt.Errorf("projections: rebuild: head: %w", err)
	}
	m.setCacheLimit(m.rebuildCache)
	defer m.setCacheLimit(liveCacheParties)

	// Read the next batch while the current one is applied.
	// The reader also decodes the events' data, so on two cores the JSON
	// decoding runs beside the apply instead of inside it.
	type batch struct {
		events  []eventstore.Event
		decoded []decoded
		err     error
	}
	ctx, cancel := context.WithCancel(ctx)
	batches := make(chan batch, 1)
	defer func() {
		cancel()
		for range batches { // let the reader exit before returning
		}
	}()
	go func() {
		defer close(batches)
		for after := int64(0); after < head; {
			events, err := m.store.ReadAll(ctx, after, m.rebuildBatch)
			if err == nil && len(events) == 0 {
				return
			}
			var dec []decoded
			if err == nil {
				dec = decodeAll(events)
			}
			select {
			case batches <- batch{events, dec, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
			after = events[len(events)-1].Position
		}
	}()
	var n int
	for b := range batches {
		if b.err != nil {
			return fmt.Errorf("projections: rebuild: read log: %w", b.err)
		}
		if err := m.applyLocked(ctx, b.events, b.decoded); err != nil {
			return fmt.Errorf("projections: rebuild: %w", err)
		}
		n += len(b.events)
		applied = b.events[len(b.events)-1].Position
		if o.Progress != nil {
			o.Progress(PhaseReplay, applied, head)
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("projections: rebuild: %w", err)
	}
	if err := m.flushHeldLocked(ctx); err != nil {
		return fmt.Errorf("projections: rebuild: write held rows: %w", err)
	}
	m.logger.Info("rebuilt read models", logEvents, n, logPosition, head, logDuration, time.Since(start))
	return nil
}

// wipe empties every projection's tables and sets the checkpoints to 0.
// The caller holds applyMu.
func (m *ReadModel) wipe(ctx context.Context, deferIndexes bool) error {
	tx, err := m.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if deferIndexes {
		if err := dropDeferredIndexes(ctx, tx); err != nil {
			return err
		}
	}
	for _, p := range m.projs {
		for _, t := range p.tables() {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+t); err != nil {
				return fmt.Errorf("wipe %s: %w", t, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE checkpoints SET position = 0 WHERE name = ?`, p.name()); err != nil {
			return fmt.Errorf("wipe checkpoint %s: %w", p.name(), err)
		}
	}
	err = tx.Commit()
	for _, p := range m.projs {
		p.end(false) // forget cached state either way
	}
	m.nets.invalidate()
	if err != nil {
		return err
	}
	m.setApplied(0)
	return nil
}

// checkpointEvery is how often [ReadModel.checkpointBeside] copies the
// write-ahead log into the read model's file during a rebuild.
const checkpointEvery = 100 * time.Millisecond

// checkpointBeside moves a rebuild's WAL checkpoints off the apply. By
// default the connection whose commit takes the WAL past 1,000 pages copies
// the WAL into the database file inside that commit: in a rebuild, the
// writer, on the critical path. checkpointBeside turns the writer's
// automatic checkpoint off and runs passive checkpoints from a query
// connection every [checkpointEvery] instead, which SQLite runs beside a
// writer (a passive checkpoint never blocks one), so on two cores the
// copying overlaps the replay. The returned function stops the
// checkpoints and turns the writer's automatic checkpoint on again (its
// next commit, or the close, checkpoints what is left). Durability is unchanged: commits go to the WAL as
// before, and the WAL is the database until it is checkpointed.
//
// It needs a writer of its own ([WithWriter], one connection): the pragma is
// a setting of a connection, so on a pool shared with queries it could land
// on one connection and be restored on another, leaving a connection that
// never checkpoints. Without one, the checkpoints stay in the commits.
func (m *ReadModel) checkpointBeside(ctx context.Context) (stop func()) {
	if m.wdb == m.db || m.wdb.Stats().MaxOpenConnections != 1 {
		return func() {}
	}
	ctx = context.WithoutCancel(ctx)
	if _, err := m.wdb.ExecContext(ctx, `PRAGMA wal_autocheckpoint = 0`); err != nil {
		m.logger.Warn("rebuild: checkpoints stay in the writer", logError, err)
		return func() {}
	}
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(checkpointEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if _, err := m.db.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
					m.logger.Debug("rebuild: passive checkpoint", logError, err)
				}
			}
		}
	}()
	return func() {
		close(done)
		<-exited
		if _, err := m.wdb.ExecContext(ctx, `PRAGMA wal_autocheckpoint = 1000`); err != nil {
			m.logger.Warn("rebuild: automatic checkpoints not restored", logError, err)
		}
	}
}
