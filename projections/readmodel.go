// Package projections keeps partyledger's read models: disposable SQLite
// tables built only from the event log, which the HTTP API, the CLI and the
// reports query.
//
// # Projections
//
// Nine projections share one SQLite file (its own file, separate from the
// event store). Each is one value of the unexported projection interface,
// listed in [Open], with its apply code in one file and its queries in
// another (readmodel.go itself is the runner: the type, Open, Run, the
// batches and Rebuild):
//
//   - register (register.go; queries register_query.go, pages.go): the
//     current state of every party and requirement (parties, requirements);
//   - reviews (reviews.go; queries reviews_query.go, window.go): the recorded management reviews and
//     the windows the feed is read in (reviews);
//   - changes (feed.go, feed_objectives.go; queries feed_query.go, net view
//     net.go): the detailed
//     change feed, one row per party, requirement, objective or KPI event
//     (changes, plus change_parties, change_requirements, change_objectives
//     and change_kpis for the names it shows). management_review.held
//     events are not feed items: they bound the windows;
//   - audit (audit.go; queries audit_query.go, actors.go): one row per
//     event of the log, the index of the audit trail (audit_index);
//   - objectives (objectives.go; queries objectives_query.go,
//     objective_views.go): objectives, KPIs and
//     measurements;
//   - requirement_reviews (requirement_reviews.go; queries
//     requirement_reviews_query.go);
//   - communications (communications.go; queries communications_query.go):
//     the communication plan and log;
//   - relationships (relationships.go; queries relationships_query.go):
//     the relationships between parties;
//   - register_snapshots (snapshots.go; the as_of queries asof.go,
//     asof_cache.go): persistent as_of snapshots of the register fold
//     ([foldParty], shared with the register) every
//     [DefaultSnapshotInterval] positions (register_snapshots,
//     register_snapshot_parties), from which [ReadModel.SnapshotAt] starts.
//
// Each projection keeps its own row in the checkpoints table: the position of
// the last event it applied. [ReadModel.Run] applies every batch of events to
// all of them in one transaction, together with their checkpoints, so rows
// and checkpoints never disagree: a failed batch leaves both where they were.
// Delivery is at-least-once; an event at or below a projection's checkpoint
// is skipped, so applying a batch twice changes nothing. A batch is not
// cancellable once begun; Run and Rebuild stop between batches.
//
// # The change pipeline
//
// After each batch of Run has committed, the hook given with
// [WithCommitHook] receives the batch's events: serve hands them to the
// change pipeline (handlers/pipeline), which reads their feed rows once and
// feeds the live stream, the webhooks and the bus. Rebuild does not call
// the hook.
//
// # Adding a projection
//
//  1. Add a migration under migrations/ (next number) creating its tables.
//  2. Write its apply file: a type implementing projection (name, tables,
//     begin with statements prepared on the batch's tx, apply, flush, end,
//     setCacheLimit); apply must be idempotent and read only its own tables
//     and the event.
//  3. Append its constructor to the list in [Open]. Its checkpoint row is
//     created at 0, so it catches up from the start of the log on the next
//     Run while the others resume where they were; no wipe is needed.
//  4. Write its query file: methods on [ReadModel], with callers declaring
//     the narrow interface they use. Lists page with [Page] and [Cursor]
//     (pages.go) rather than returning everything.
//  5. Test that a rebuild gives the state live updates gave (dumpTables in
//     the tests compares every table).
//
// # Queries and memory
//
// Lists are read a page at a time and passed on as they are read
// ([ReadModel.EachParty], [ReadModel.EachRegisterParty],
// [ReadModel.EachChange], [ReadModel.NetPage]); the slices that
// [ReadModel.Parties], [ReadModel.Register] and [ReadModel.Changes] return
// are for callers that need everything (reports, the CLI). Give [Open] a
// capped query pool and, with [WithWriter], a connection of its own for the
// batches.
//
// # Rebuilding
//
// The tables are a function of the log. [ReadModel.Rebuild] wipes them and
// replays the log from position 0, which must give exactly the state that
// live updates gave. The secondary indexes that no apply reads are dropped
// for the replay and built once after it. A migration that changes what a
// projection stores wipes that projection and resets its checkpoint; it then
// catches up on its own while the others resume where they were.
//
// # Errors
//
// Queries return a [*domain.Error] with code [domain.ENOTFOUND] for an
// unknown id and [domain.EINVALID] for a bad filter; anything else is an
// internal error (the database failed).
package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// Log attribute keys.
const (
	logComponent = "component"
	logPosition  = "position"
	logEventID   = "event_id"
	logType      = "type"
	logEvents    = "events"
	logDuration  = "duration"
	logError     = "error"
)

// RebuildBatch is how many events [ReadModel.Rebuild] reads and applies per
// transaction.
const RebuildBatch = 4096

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

// ReadModel is the set of read models in one SQLite database. Queries are
// safe for concurrent use with each other and with [ReadModel.Run].
//
// Between batches the projections cache the state of recently touched
// parties, which is only valid while this ReadModel is the only writer of its
// database: open one ReadModel per database file, and run one Run (or
// Rebuild) at a time.
type ReadModel struct {
	db  *sql.DB // queries
	wdb *sql.DB // batches, the wipe; db unless [WithWriter]

	pdb       *sql.DB   // point reads (one party); db unless [WithPointReads]
	partyStmt *sql.Stmt // partyQuery on pdb
	store     eventstore.Store
	logger    *slog.Logger

	// applyMu serialises batches: Run's, Rebuild's and the wipe.
	applyMu sync.Mutex
	projs   []projection
	stmts   *stmtCache // the projections' write statements, held across batches

	mu      sync.Mutex
	applied int64         // lowest checkpoint after the last commit
	changed chan struct{} // closed and replaced when applied or runErr changes
	runErr  error         // why Run stopped, if it failed

	onCommit      func(ctx context.Context, events []eventstore.Event) // see [WithCommitHook]
	snapshotEvery int64                                                // positions between persistent as_of snapshots ([WithSnapshotInterval])
}

// Open prepares the read-model tables in db (embedded migrations, one
// transaction each) and returns the model. db is a *sql.DB on a SQLite file of
// its own, separate from the event store; it can be deleted and rebuilt at
// any time. store is the log the model follows. A nil logger discards.
//
// Open does not start following the log: call [ReadModel.Run].
func Open(ctx context.Context, db *sql.DB, store eventstore.Store, logger *slog.Logger, opts ...Option) (*ReadModel, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With(logComponent, "projections")
	if err := migrate(ctx, db); err != nil {
		return nil, fmt.Errorf("projections: open: %w", err)
	}
	m := &ReadModel{
		db:      db,
		wdb:     db,
		pdb:     db,
		store:   store,
		logger:  logger,
		changed: make(chan struct{}),
	}
	for _, o := range opts {
		o(m)
	}
	var err error
	if m.partyStmt, err = m.pdb.PrepareContext(ctx, partyQuery); err != nil {
		return nil, fmt.Errorf("projections: open: prepare: %w", err)
	}
	m.projs = []projection{newRegister(logger), newReviews(), newFeed(), newAuditIndex(),
		newObjectives(), newRequirementReviews(), newCommunications()}
	m.projs = append(m.projs, newRelationships())
	m.projs = append(m.projs, newSnapshots(store, m.snapshotInterval()))
	m.stmts = newStmtCache(m.wdb)
	for _, p := range m.projs {
		if u, ok := p.(stmtUser); ok {
			u.useStmts(m.stmts)
		}
	}
	m.setCacheLimit(liveCacheParties)
	cp, err := m.Checkpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("projections: open: %w", err)
	}
	m.applied = cp
	// A rebuild that died half-way left its deferred indexes dropped.
	if err := restoreDeferredIndexes(ctx, m.wdb); err != nil {
		return nil, fmt.Errorf("projections: open: %w", err)
	}
	return m, nil
}

// Option configures [Open].
type Option func(*ReadModel)

// WithWriter makes the read model apply its batches (and the wipe of a
// rebuild) through wdb, a pool of one connection on the same file, while
// queries use the db given to [Open]. Queries then cannot starve the
// projections: with a capped query pool, slow clients holding every query
// connection still leave the writer its own. The caller owns and closes
// wdb.
func WithWriter(wdb *sql.DB) Option {
	return func(m *ReadModel) { m.wdb = wdb }
}

// WithPointReads makes [ReadModel.Party], the read behind every write's
// answer and the one-party GET, use pdb, a small pool on the same file of
// its own: point reads then never queue behind list pages and exports
// holding the query pool. The caller owns and closes pdb.
func WithPointReads(pdb *sql.DB) Option {
	return func(m *ReadModel) { m.pdb = pdb }
}

// WithCommitHook makes [ReadModel.Run] call fn after each batch it applied
// has committed, with the batch's events, in position order, from Run's
// goroutine: the change pipeline (handlers/pipeline) produces its items
// there, once per batch, for the live stream, the webhooks and the bus. fn
// must not block for long (Run waits for it) and must not call back into
// the batch machinery. Events at or below the checkpoints of a previous run
// may be included; [ReadModel.Rebuild] does not call fn.
func WithCommitHook(fn func(ctx context.Context, events []eventstore.Event)) Option {
	return func(m *ReadModel) { m.onCommit = fn }
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
	var applied int64
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
	m.setCacheLimit(rebuildCacheParties)
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
			events, err := m.store.ReadAll(ctx, after, RebuildBatch)
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
	if err != nil {
		return err
	}
	m.setApplied(0)
	return nil
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
	defer func() {
		for _, p := range m.projs {
			p.end(committed)
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
	for j, p := range m.projs {
		if cps[j] == before[j] {
			continue
		}
		if err := p.flush(ctx); err != nil {
			return fmt.Errorf("%s: %w", p.name(), err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE checkpoints SET position = ? WHERE name = ?`, cps[j], p.name()); err != nil {
			return fmt.Errorf("%s: update checkpoint: %w", p.name(), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	committed = true
	low := slices.Min(cps)
	m.setApplied(low)
	m.logger.Debug("applied batch", logEvents, len(events), logPosition, low, logDuration, time.Since(start))
	return nil
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

// Time columns hold eventstore.TimeFormat, whose fixed width keeps text order
// equal to time order.
func formatTime(t time.Time) string { return eventstore.FormatTime(t) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(eventstore.TimeFormat, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad stored time %q: %w", s, err)
	}
	return t, nil
}

// notFound is the error queries return for an unknown id.
func notFound(format string, args ...any) error {
	return domain.Errorf(domain.ENOTFOUND, format, args...)
}
