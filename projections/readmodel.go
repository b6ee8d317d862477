// Package projections keeps partyledger's read models: disposable SQLite
// tables built only from the event log, which the HTTP API, the CLI and the
// reports query.
//
// # Projections
//
// Ten projections share one SQLite file (its own file, separate from the
// event store). Each is one value of the unexported projection interface,
// listed in [Open], with its apply code in one file and its queries in
// another. readmodel.go holds the model itself ([ReadModel], [Open] and its
// options); runner.go the runner that follows the log ([ReadModel.Run],
// the batches, the checkpoints, [ReadModel.WaitFor]); rebuild.go
// [ReadModel.Rebuild]; stmts.go the statements the batches hold:
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
//   - reminders (reminders.go; queries reminders_query.go): the recorded
//     reminder digests, sent and failed, and the items each names
//     (reminders, reminder_items).
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
//  2. Write its apply file: a type implementing projection (runner.go: name,
//     tables, begin with statements prepared on the batch's tx, apply,
//     flush, end, setCacheLimit); apply must be idempotent and read only its
//     own tables and the event. Embed heldStmts and prepare through it to
//     keep the statements across batches (stmts.go).
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
// for the replay and built once after it, and the register holds its rows
// in memory for the replay and writes each party once at the end (its
// checkpoint stays behind the others' until then; see holder in
// runner.go). A migration that changes what a
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
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
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
	relsStmt  *sql.Stmt // partyRelationshipsQuery on pdb
	store     eventstore.Store
	logger    *slog.Logger

	// applyMu serialises batches: Run's, Rebuild's and the wipe.
	applyMu sync.Mutex
	projs   []projection
	stmts   *stmtCache // the projections' write statements, held across batches
	nets    netCache   // the net view's window indexes (net_index.go)
	// holding is set by Rebuild: the [holder] projections keep their
	// writes in memory across batches. held[j] is the position projection
	// j has applied but not written (0: nothing held). Both under applyMu.
	holding bool
	held    []int64
	// rebuildBatch and rebuildCache are [RebuildBatch] and
	// rebuildCacheParties; tests make them small.
	rebuildBatch, rebuildCache int

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
	if m.relsStmt, err = m.pdb.PrepareContext(ctx, partyRelationshipsQuery); err != nil {
		return nil, fmt.Errorf("projections: open: prepare: %w", err)
	}
	m.projs = []projection{newRegister(logger), newReviews(), newFeed(), newAuditIndex(),
		newObjectives(), newRequirementReviews(), newCommunications()}
	m.projs = append(m.projs, newRelationships())
	m.projs = append(m.projs, newSnapshots(store, m.snapshotInterval()))
	m.projs = append(m.projs, newReminders())
	m.held = make([]int64, len(m.projs))
	m.rebuildBatch, m.rebuildCache = RebuildBatch, rebuildCacheParties
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

// pointReadContext is the context of a point read on the point-read pool
// (one party, its relationships): ctx without its cancellation. Such a read
// is a few index lookups, over in microseconds; watching ctx would cost
// database/sql a goroutine per query and the driver an interrupt hook, which
// measured as much CPU as the read itself under many clients (issue 17).
func pointReadContext(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

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

// Time columns hold eventstore.TimeFormat, whose fixed width keeps text order
// equal to time order.
//
// Applying one event formats its time in several projections (the register,
// the snapshots' fold, the audit index, the feed, …), one after the other:
// formatTime keeps the last instant it formatted and answers the same
// instant from it (time.Time.Format was ~3 % of a rebuild's CPU). The cache
// is one atomic pointer, so concurrent callers with other times only miss.
func formatTime(t time.Time) string {
	if last := lastStamp.Load(); last != nil && last.t.Equal(t) {
		return last.s
	}
	s := eventstore.FormatTime(t)
	lastStamp.Store(&stamp{t: t, s: s})
	return s
}

// stamp is a time and its eventstore.TimeFormat text (see formatTime).
type stamp struct {
	t time.Time
	s string
}

var lastStamp atomic.Pointer[stamp]

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
