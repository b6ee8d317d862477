// Package sqlite implements [eventstore.Store] on a single SQLite file: the
// embedded default backend of partyledger.
//
// # Durability
//
// The file runs in WAL mode with synchronous=FULL (see [OpenDB]): when
// [Store.Append] returns without error, the events are on stable storage.
//
// # Group commit
//
// One writer goroutine owns the only write connection. Concurrent Append
// calls queue their requests; the writer takes everything queued (up to
// [Options.MaxBatch] requests), checks and inserts each request inside its
// own SAVEPOINT of one BEGIN IMMEDIATE transaction, commits once, and then
// answers every caller. One fsync thus serves many callers, and one failing
// request (a version conflict, a duplicate id) does not affect the others in
// its batch. Positions are assigned by the writer as head+1, so they are
// gap-free, and the hash chain runs in position order.
//
// # Reading
//
// Reads use a separate pool of query-only connections, which in WAL mode
// never wait for the writer. [Store.Subscribe] catches up with ReadAll and
// then waits for a broadcast that the writer sends after every commit.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/partyledger/partyledger/eventstore"
)

var _ eventstore.Store = (*Store)(nil)

// Defaults for [Options].
const (
	DefaultMaxBatch  = 256
	DefaultReadConns = 4
)

// Options configures [Open]. The zero value is ready to use.
type Options struct {
	// Logger receives commit failures (Error) and batch sizes (Debug).
	// Nil discards.
	Logger *slog.Logger
	// Synchronous is PRAGMA synchronous for the write connection. The zero
	// value means [SynchronousFull]; anything weaker can lose acknowledged
	// events on power loss.
	Synchronous Synchronous
	// MaxBatch caps how many Append requests share one transaction.
	// Zero means [DefaultMaxBatch].
	MaxBatch int
	// ReadConns is the size of the read pool. Zero means [DefaultReadConns].
	ReadConns int
	// BusyTimeout is how long the writer waits for a lock held by another
	// process before the batch fails with [eventstore.ErrUnavailable].
	// Zero means [DefaultBusyTimeout].
	BusyTimeout time.Duration
}

// Store is the SQLite event store. Create it with [Open]; it is safe for
// concurrent use. Open one Store per file per process: another writer on the
// same file does not corrupt the chain (the head is read inside each write
// transaction), but its appends do not wake this Store's subscribers.
type Store struct {
	path   string
	logger *slog.Logger

	wdb    *sql.DB // one connection, used only by the writer goroutine
	rdb    *sql.DB // query-only read pool
	stmts  writeStmts
	maxBat int

	readStmts sync.Map // query text -> *sql.Stmt on rdb (see readStmt)

	reqs chan *appendRequest
	quit chan struct{} // closed by Close: the writer drains and exits
	done chan struct{} // closed by the writer when it has exited

	// closeMu is held shared by every operation that touches the databases
	// or the request queue, and exclusively by Close to flip closed.
	closeMu sync.RWMutex
	closed  bool

	notifyMu sync.Mutex
	notify   chan struct{} // closed and replaced after every commit

	// onBatch, if set before the first Append, is called by the writer with
	// the number of requests it took into a batch, before it begins the
	// transaction. Tests use it to know what the writer is doing.
	onBatch func(requests int)

	appends atomic.Int64
	events  atomic.Int64
	commits atomic.Int64
}

// Open opens (creating if needed) the event store in the SQLite file at path,
// applies pending schema migrations and starts the writer goroutine. ctx
// bounds the opening work only, not the Store's lifetime; call
// [Store.Close] when done.
//
// Open fails if the file cannot be opened, its connections do not accept the
// required pragmas (see [OpenDB]), or a migration fails.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = DefaultMaxBatch
	}
	if opts.ReadConns <= 0 {
		opts.ReadConns = DefaultReadConns
	}

	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = DefaultBusyTimeout
	}

	wdb, err := OpenDB(path, WithSynchronous(opts.Synchronous), WithBusyTimeout(opts.BusyTimeout))
	if err != nil {
		return nil, err
	}
	// A single connection, never closed for idleness: the writer is the
	// only one that writes, so it never waits on busy_timeout for itself.
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxIdleTime(0)
	wdb.SetConnMaxLifetime(0)

	if err := migrate(ctx, wdb); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	stmts, err := prepareWriteStmts(ctx, wdb)
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}

	rdb, err := OpenDB(path, WithSynchronous(opts.Synchronous), WithBusyTimeout(opts.BusyTimeout), WithQueryOnly())
	if err != nil {
		stmts.close()
		wdb.Close()
		return nil, err
	}
	// Idle = open: every read connection stays open, with its pragmas,
	// page cache and prepared statements, instead of being closed after a
	// burst and opened again.
	rdb.SetMaxOpenConns(opts.ReadConns)
	rdb.SetMaxIdleConns(opts.ReadConns)
	rdb.SetConnMaxIdleTime(0)
	rdb.SetConnMaxLifetime(0)

	s := &Store{
		path:   path,
		logger: opts.Logger.With(slog.String("db", path)),
		wdb:    wdb,
		rdb:    rdb,
		stmts:  stmts,
		maxBat: opts.MaxBatch,
		reqs:   make(chan *appendRequest, opts.MaxBatch),
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
		notify: make(chan struct{}),
	}
	pos, hash, err := s.Head(ctx)
	if err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("sqlite: open %s: load head: %w", path, err)
	}
	s.logger.Info("event store opened", slog.Int64("head_position", pos), slog.String("head_hash", hash))
	go s.run()
	return s, nil
}

// Append implements [eventstore.Store.Append].
//
// It returns, besides the errors the interface documents, an error matching
// [eventstore.ErrDuplicateID] (and so [eventstore.ErrInvalid]) when an event
// ID is already stored or repeated within events; [eventstore.ErrInvalid]
// for an empty stream name, an empty events slice or an expectedVersion
// below [eventstore.AnyVersion]; and an error matching
// [eventstore.ErrUnavailable] when SQLite reports the file busy, full or
// failing. Event times are stored in UTC with nanosecond precision.
//
// Cancellation: if ctx is done before the writer takes the request into a
// batch, Append returns ctx.Err() and writes nothing. Once the request is
// taken, its outcome is decided by the batch commit, and Append waits for
// it and reports it even if ctx is cancelled meanwhile.
func (s *Store) Append(ctx context.Context, stream string, expectedVersion int64, events []eventstore.Event) ([]eventstore.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	evs, err := prepareEvents(stream, expectedVersion, events)
	if err != nil {
		return nil, fmt.Errorf("sqlite: append %s: %w", stream, err)
	}
	parts, err := s.submit(ctx, []reqPart{{stream: stream, expected: expectedVersion, events: evs}})
	if err != nil {
		return nil, err
	}
	return parts[0], nil
}

// AppendStreams implements [eventstore.Store.AppendStreams]: the parts are
// one request to the writer, checked and inserted inside one savepoint of
// one transaction, so they are stored together or not at all. Errors and
// cancellation are as for [Store.Append].
func (s *Store) AppendStreams(ctx context.Context, parts []eventstore.StreamAppend) ([][]eventstore.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := eventstore.CheckParts(parts); err != nil {
		return nil, fmt.Errorf("sqlite: append: %w", err)
	}
	rps := make([]reqPart, len(parts))
	for i, p := range parts {
		evs, err := prepareEvents(p.Stream, p.ExpectedVersion, p.Events)
		if err != nil {
			return nil, fmt.Errorf("sqlite: append %s: %w", p.Stream, err)
		}
		rps[i] = reqPart{stream: p.Stream, expected: p.ExpectedVersion, events: evs}
	}
	return s.submit(ctx, rps)
}

// submit queues one request for the writer and waits for its outcome.
func (s *Store) submit(ctx context.Context, parts []reqPart) ([][]eventstore.Event, error) {
	r := &appendRequest{
		ctx:   ctx,
		parts: parts,
		reply: make(chan appendResult, 1),
	}

	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return nil, eventstore.ErrClosed
	}
	select {
	case s.reqs <- r:
		s.closeMu.RUnlock()
	case <-ctx.Done():
		s.closeMu.RUnlock()
		return nil, ctx.Err()
	}

	select {
	case res := <-r.reply:
		return res.parts, res.err
	case <-ctx.Done():
		if r.state.CompareAndSwap(reqPending, reqAbandoned) {
			return nil, ctx.Err()
		}
		res := <-r.reply // taken into a batch: the commit decides
		return res.parts, res.err
	}
}

// prepareEvents validates the caller's events and returns normalised copies:
// Stream set, Time in UTC without monotonic reading, Data copied so the
// caller may reuse its buffers. Version, Position, PrevHash and Hash are
// assigned later by the writer.
func prepareEvents(stream string, expectedVersion int64, events []eventstore.Event) ([]eventstore.Event, error) {
	switch {
	case stream == "":
		return nil, fmt.Errorf("%w: empty stream name", eventstore.ErrInvalid)
	case len(events) == 0:
		return nil, fmt.Errorf("%w: no events", eventstore.ErrInvalid)
	case expectedVersion < eventstore.AnyVersion:
		return nil, fmt.Errorf("%w: expected version %d", eventstore.ErrInvalid, expectedVersion)
	}
	return eventstore.Prepare(stream, events)
}

// Stats counts the writer's work since Open.
type Stats struct {
	// Appends is the number of Append calls whose events were committed.
	Appends int64
	// Events is the number of events committed.
	Events int64
	// Commits is the number of write transactions committed. Under
	// concurrent load it is smaller than Appends: that is group commit.
	Commits int64
}

// Stats returns the writer's counters. It is safe for concurrent use.
func (s *Store) Stats() Stats {
	return Stats{Appends: s.appends.Load(), Events: s.events.Load(), Commits: s.commits.Load()}
}

// Close stops accepting appends, lets the writer commit every request
// already queued, waits for reads in flight, and closes the databases.
// Subscriptions return [eventstore.ErrClosed]. Calls after Close return
// [eventstore.ErrClosed]; Close itself is idempotent and returns nil on
// later calls.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	s.closeMu.Unlock()

	close(s.quit)
	<-s.done
	s.logger.Info("event store closed", slog.Int64("commits", s.commits.Load()), slog.Int64("events", s.events.Load()))
	return s.closeDBs()
}

func (s *Store) closeDBs() error {
	return errors.Join(s.stmts.close(), s.closeReadStmts(), s.wdb.Close(), s.rdb.Close())
}

// begin takes the shared side of closeMu for an operation on the databases.
// It returns false, having released nothing, if the store is closed.
func (s *Store) begin() bool {
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return false
	}
	return true
}

func (s *Store) end() { s.closeMu.RUnlock() }

// changed returns the channel that the next commit closes. Take it before
// reading so that a commit between the read and the wait is not missed.
func (s *Store) changed() <-chan struct{} {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	return s.notify
}

// broadcast wakes every waiter on changed.
func (s *Store) broadcast() {
	s.notifyMu.Lock()
	close(s.notify)
	s.notify = make(chan struct{})
	s.notifyMu.Unlock()
}

// unavailable marks SQLite errors that mean "the file cannot be used right
// now" (locked past busy_timeout, I/O error, disk full, cannot open) with
// [eventstore.ErrUnavailable], keeping the driver error in the chain.
func unavailable(err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code {
		case sqlite3.ErrBusy, sqlite3.ErrLocked, sqlite3.ErrIoErr, sqlite3.ErrFull,
			sqlite3.ErrCantOpen, sqlite3.ErrProtocol, sqlite3.ErrNomem, sqlite3.ErrReadonly:
			return fmt.Errorf("%w: %w", eventstore.ErrUnavailable, err)
		}
	}
	return err
}
