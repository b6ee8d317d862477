package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// Bounds on the in-memory state the projections keep between batches (see
// [ReadModel]): beyond these the caches are emptied after a commit.
const (
	liveCacheParties    = 2048
	rebuildCacheParties = 1 << 16
)

// ErrStopped is returned (wrapped, together with the cause) by
// [ReadModel.WaitFor] when [ReadModel.Run] has stopped with an error before
// the awaited position was applied.
var ErrStopped = errors.New("projections: read model stopped")

// projection is one read model inside the shared transaction of a batch.
type projection interface {
	// name is the projection's row in the checkpoints table.
	name() string
	// begin prepares the projection for a batch applied in tx.
	begin(ctx context.Context, tx *sql.Tx) error
	// apply applies one event whose position is above the projection's
	// checkpoint. de is the decoded data.
	apply(ctx context.Context, ev *eventstore.Event, de domain.Event) error
	// flush writes whatever apply kept in memory to tx.
	flush(ctx context.Context) error
	// end finishes the batch. When the transaction did not commit, the
	// projection forgets every cached state, which may be ahead of the
	// database.
	end(committed bool)
	// setCacheLimit bounds what the projection keeps cached between batches.
	setCacheLimit(n int)
	// tables lists the tables Rebuild empties.
	tables() []string
}

// holder is a projection that can hold its writes in memory across the
// batches of a rebuild and write them once at the end (see
// [ReadModel.RebuildWith]): the register, whose per-batch upserts of every
// touched party and requirement were a sixth of a rebuild's CPU. Its
// checkpoint row stays at the last position it wrote while it holds, so a
// rebuild that dies half-way leaves its tables and checkpoint consistent,
// only further behind than the others', and Run catches it up.
//
// While [ReadModel] is holding, the runner calls a holder's flush only when
// mustFlush says so, or from flushHeldLocked at the end; a holder's flush
// writes everything it holds, and its end(true) keeps what it has not
// written.
type holder interface {
	// mustFlush reports whether what the projection holds has reached its
	// memory bound and must be written with this batch.
	mustFlush() bool
}

func (m *ReadModel) setCacheLimit(n int) {
	for _, p := range m.projs {
		p.setCacheLimit(n)
	}
}

// Run follows the log with [eventstore.Store.Subscribe] from the lowest of the
// stored checkpoints and applies each batch of events in one transaction
// together with the checkpoint updates. It returns ctx.Err() once ctx is
// done, or the error that stopped it (an event that cannot be decoded, a
// failing database or store); the checkpoints then stay at the last batch
// that committed, so calling Run again retries from there.
func (m *ReadModel) Run(ctx context.Context) error {
	after, err := m.Checkpoint(ctx)
	if err != nil {
		return fmt.Errorf("projections: run: %w", err)
	}
	m.setRunErr(nil)
	m.logger.Info("following the event log", logPosition, after)
	err = m.store.Subscribe(ctx, after, m.apply)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err == nil {
		err = errors.New("subscription ended")
	}
	err = fmt.Errorf("projections: run: %w", err)
	m.logger.Error("stopped following the event log", logError, err)
	m.setRunErr(err)
	return err
}

// Checkpoint returns the position up to which every projection has applied
// the log: the lowest of their checkpoints.
func (m *ReadModel) Checkpoint(ctx context.Context) (int64, error) {
	rows, err := m.db.QueryContext(ctx, `SELECT name, position FROM checkpoints`)
	if err != nil {
		return 0, fmt.Errorf("read checkpoints: %w", err)
	}
	defer rows.Close()
	stored := map[string]int64{}
	for rows.Next() {
		var name string
		var pos int64
		if err := rows.Scan(&name, &pos); err != nil {
			return 0, fmt.Errorf("read checkpoints: %w", err)
		}
		stored[name] = pos
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("read checkpoints: %w", err)
	}
	low := int64(-1)
	for _, p := range m.projs {
		if pos := stored[p.name()]; low < 0 || pos < low { // a missing row reads as 0
			low = pos
		}
	}
	return low, nil
}

// WaitFor blocks until every projection has applied the log up to position,
// which gives read-your-writes after an append: pass the position of the
// last appended event. It returns nil at once for a position already applied,
// ctx's error (wrapped) when ctx is done first, and an error matching
// [ErrStopped] when Run has failed. It only sees batches applied by this
// ReadModel.
func (m *ReadModel) WaitFor(ctx context.Context, position int64) error {
	for {
		m.mu.Lock()
		applied, changed, runErr := m.applied, m.changed, m.runErr
		m.mu.Unlock()
		if applied >= position {
			return nil
		}
		if runErr != nil {
			return fmt.Errorf("projections: wait for position %d: %w", position, runErr)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("projections: wait for position %d (applied %d): %w", position, applied, ctx.Err())
		}
	}
}

func (m *ReadModel) setApplied(pos int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.applied != pos {
		m.applied = pos
		close(m.changed)
		m.changed = make(chan struct{})
	}
}

func (m *ReadModel) setRunErr(err error) {
	if err != nil {
		err = fmt.Errorf("%w: %w", ErrStopped, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.runErr = err
	close(m.changed)
	m.changed = make(chan struct{})
}

// apply applies one batch of events in one transaction. It is the
// [eventstore.Store.Subscribe] callback of Run.
func (m *ReadModel) apply(ctx context.Context, events []eventstore.Event) error {
	m.applyMu.Lock()
	err := m.applyLocked(ctx, events, nil)
	m.applyMu.Unlock()
	if err == nil && m.onCommit != nil && len(events) > 0 {
		m.onCommit(ctx, events)
	}
	return err
}

// applyLocked applies events to every projection whose checkpoint is below
// them, and moves the checkpoints, all in one transaction. On any error
// nothing is written. The caller holds applyMu. dec, if not nil, holds the
// events' decoded data ([decodeAll]); otherwise each event is decoded here.
func (m *ReadModel) applyLocked(ctx context.Context, events []eventstore.Event, dec []decoded) (err error) {
	if len(events) == 0 {
		return nil
	}
	// A batch is not cancellable: it is short, it commits or rolls back as
	// a whole, and a context that can be cancelled makes go-sqlite3 start a
	// goroutine per statement (most of a rebuild's time, issue 17). Run and
	// Rebuild stop between batches.
	// A batch whose context is already done does not begin.
	if err := ctx.Err(); err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	m.stmts.prepareWanted(ctx) // before the batch holds the writer's connection
	start := time.Now()
	committed := false
	held := slices.Clone(m.held) // positions the holders applied but hold, if this batch commits
	defer func() {
		for _, p := range m.projs {
			p.end(committed)
		}
		if committed {
			m.held = held
		} else {
			clear(m.held) // the holders forgot what they held (end(false))
		}
	}()

	tx, err := m.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()

	before, err := readCheckpoints(ctx, tx, m.projs)
	if err != nil {
		return err
	}
	cps := slices.Clone(before)
	for j := range cps {
		cps[j] = max(cps[j], held[j]) // a holder has applied these in memory
	}
	for _, p := range m.projs {
		if err := p.begin(ctx, tx); err != nil {
			return fmt.Errorf("%s: %w", p.name(), err)
		}
	}
	for i := range events {
		ev := &events[i]
		if ev.Position <= slices.Min(cps) {
			continue // every projection has it already
		}
		var de domain.Event
		if dec != nil {
			de, err = dec[i].event, dec[i].err
		} else {
			de, err = decode(ev)
		}
		if err != nil {
			return fmt.Errorf("event %d (%s, id %s): %w", ev.Position, ev.Type, ev.ID, err)
		}
		for j, p := range m.projs {
			if ev.Position <= cps[j] {
				continue
			}
			if de != nil || wantsEveryEvent(p) {
				if err := p.apply(ctx, ev, de); err != nil {
					return fmt.Errorf("%s: event %d (%s, id %s): %w", p.name(), ev.Position, ev.Type, ev.ID, err)
				}
			}
			cps[j] = ev.Position
		}
	}
	written := slices.Clone(before) // the checkpoints as this batch commits them
	for j, p := range m.projs {
		if cps[j] == before[j] {
			continue
		}
		if h, ok := p.(holder); ok && m.holding && !h.mustFlush() {
			held[j] = cps[j] // written by flushHeldLocked, or with a later batch
			continue
		}
		if err := p.flush(ctx); err != nil {
			return fmt.Errorf("%s: %w", p.name(), err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE checkpoints SET position = ? WHERE name = ?`, cps[j], p.name()); err != nil {
			return fmt.Errorf("%s: update checkpoint: %w", p.name(), err)
		}
		written[j], held[j] = cps[j], 0
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	committed = true
	low := slices.Min(written)
	m.setApplied(low)
	m.logger.Debug("applied batch", logEvents, len(events), logPosition, low, logDuration, time.Since(start))
	return nil
}

// flushHeldLocked writes what the [holder] projections hold, with their
// checkpoints, in one transaction, and stops holding. On error nothing is
// written and the holders forget what they held: their checkpoints stay
// where they were, so Run (or another Rebuild) applies those events again.
// The caller holds applyMu.
func (m *ReadModel) flushHeldLocked(ctx context.Context) (err error) {
	m.holding = false
	if !slices.ContainsFunc(m.held, func(pos int64) bool { return pos > 0 }) {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	m.stmts.prepareWanted(ctx)
	committed := false
	defer func() {
		for j, p := range m.projs {
			if m.held[j] > 0 {
				p.end(committed)
			}
		}
		clear(m.held)
	}()
	tx, err := m.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	cps, err := readCheckpoints(ctx, tx, m.projs)
	if err != nil {
		return err
	}
	for j, p := range m.projs {
		if m.held[j] <= cps[j] {
			continue
		}
		if err := p.begin(ctx, tx); err != nil {
			return fmt.Errorf("%s: %w", p.name(), err)
		}
		if err := p.flush(ctx); err != nil {
			return fmt.Errorf("%s: %w", p.name(), err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE checkpoints SET position = ? WHERE name = ?`, m.held[j], p.name()); err != nil {
			return fmt.Errorf("%s: update checkpoint: %w", p.name(), err)
		}
		cps[j] = m.held[j]
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	committed = true
	m.setApplied(slices.Min(cps))
	return nil
}

// dropHeldLocked makes the [holder] projections forget what they hold and
// stop holding: a rebuild that stops early does not write it (its
// checkpoints say what to apply again). The caller holds applyMu.
func (m *ReadModel) dropHeldLocked() {
	m.holding = false
	for j, p := range m.projs {
		if m.held[j] > 0 {
			p.end(false)
		}
	}
	clear(m.held)
}

// readCheckpoints returns the checkpoint of each projection, in order. A
// missing row reads as 0 and is created.
func readCheckpoints(ctx context.Context, tx *sql.Tx, projs []projection) ([]int64, error) {
	cps := make([]int64, len(projs))
	for i, p := range projs {
		err := tx.QueryRowContext(ctx, `SELECT position FROM checkpoints WHERE name = ?`, p.name()).Scan(&cps[i])
		if errors.Is(err, sql.ErrNoRows) {
			_, err = tx.ExecContext(ctx, `INSERT INTO checkpoints (name, position) VALUES (?, 0)`, p.name())
		}
		if err != nil {
			return nil, fmt.Errorf("read checkpoint %s: %w", p.name(), err)
		}
	}
	return cps, nil
}

// decode returns the event's data as a domain event, or nil for an event
// type this code does not project (another aggregate's). A known type whose
// data does not decode is an error: skipping it would silently lose a fact.
func decode(ev *eventstore.Event) (domain.Event, error) {
	if !slices.Contains(domain.EventTypes, ev.Type) {
		return nil, nil
	}
	return domain.Decode(ev.Type, ev.Schema, ev.Data)
}

// decoded is one event's data decoded ahead of its batch, or the error.
type decoded struct {
	event domain.Event
	err   error
}

// decodeAll decodes the data of events (see [decode]).
func decodeAll(events []eventstore.Event) []decoded {
	out := make([]decoded, len(events))
	for i := range events {
		out[i].event, out[i].err = decode(&events[i])
	}
	return out
}
