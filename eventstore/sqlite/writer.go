package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/mattn/go-sqlite3"

	"github.com/partyledger/partyledger/eventstore"
)

// Request states. A request moves from pending to taken (by the writer) or
// to abandoned (by its caller, whose ctx ended first), exactly once.
const (
	reqPending int32 = iota
	reqTaken
	reqAbandoned
)

// appendRequest is one Append or AppendStreams call waiting for the writer.
type appendRequest struct {
	ctx   context.Context
	parts []reqPart // one per stream; all or none are stored
	state atomic.Int32
	reply chan appendResult // buffered: the writer never blocks on it

	res appendResult // filled by the writer before the commit
}

// reqPart is one stream's share of a request.
type reqPart struct {
	stream   string
	expected int64
	events   []eventstore.Event // validated, normalised copies
}

type appendResult struct {
	parts [][]eventstore.Event // stored events, one slice per part
	err   error
}

// take claims r for a batch. It returns false if the caller has given up;
// a request whose ctx is already done is abandoned here and answered with
// ctx.Err(), so nothing is written for it.
func (r *appendRequest) take() bool {
	if err := r.ctx.Err(); err != nil {
		if r.state.CompareAndSwap(reqPending, reqAbandoned) {
			r.reply <- appendResult{err: err}
		}
		return false
	}
	return r.state.CompareAndSwap(reqPending, reqTaken)
}

const (
	insertSQL = `INSERT INTO events (position, id, stream, version, type, schema, time, actor, reason,
		"trigger", correlation_id, causation_id, data, prev_hash, hash, effective_on)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	streamVersionSQL = `SELECT COALESCE(MAX(version), 0) FROM events WHERE stream = ?`
	headSQL          = `SELECT position, hash FROM events ORDER BY position DESC LIMIT 1`
	idExistsSQL      = `SELECT COUNT(*) FROM events WHERE id = ?`
)

// writeStmts are prepared once on the single write connection and bound to
// each transaction with Tx.Stmt, which reuses them on that connection.
type writeStmts struct {
	insert, streamVersion, head, idExists *sql.Stmt
}

func prepareWriteStmts(ctx context.Context, db *sql.DB) (writeStmts, error) {
	var ws writeStmts
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = db.PrepareContext(ctx, q)
		return st
	}
	ws.insert = prep(insertSQL)
	ws.streamVersion = prep(streamVersionSQL)
	ws.head = prep(headSQL)
	ws.idExists = prep(idExistsSQL)
	if err != nil {
		ws.close()
		return writeStmts{}, fmt.Errorf("prepare: %w", err)
	}
	return ws, nil
}

func (ws writeStmts) close() error {
	var errs []error
	for _, st := range []*sql.Stmt{ws.insert, ws.streamVersion, ws.head, ws.idExists} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// run is the writer goroutine. It batches whatever is queued, commits, and
// on quit commits what is still queued before exiting.
func (s *Store) run() {
	defer close(s.done)
	batch := make([]*appendRequest, 0, s.maxBat)
	for {
		select {
		case r := <-s.reqs:
			batch = s.collect(append(batch[:0], r))
			s.writeBatch(batch)
		case <-s.quit:
			// Close holds closeMu exclusively before closing quit, so no
			// Append can enqueue any more: draining the channel is final.
			for len(s.reqs) > 0 {
				batch = s.collect(batch[:0])
				s.writeBatch(batch)
			}
			return
		}
	}
}

// collect adds queued requests to batch without waiting, up to maxBat.
func (s *Store) collect(batch []*appendRequest) []*appendRequest {
	for len(batch) < s.maxBat {
		select {
		case r := <-s.reqs:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// writeBatch commits the takeable requests of batch in one transaction and
// answers each of them.
func (s *Store) writeBatch(batch []*appendRequest) {
	taken := batch[:0:0]
	for _, r := range batch {
		if r.take() {
			taken = append(taken, r)
		}
	}
	if len(taken) == 0 {
		return
	}
	if s.onBatch != nil {
		s.onBatch(len(taken))
	}
	if err := s.commitBatch(taken); err != nil {
		s.logger.Error("event store commit failed", slog.Int("requests", len(taken)), slog.Any("err", err))
		err = fmt.Errorf("sqlite: append: commit: %w", unavailable(err))
		for _, r := range taken {
			r.reply <- appendResult{err: err}
		}
		return
	}

	var appends, events int64
	for _, r := range taken {
		if r.res.err == nil {
			appends++
			for _, p := range r.res.parts {
				events += int64(len(p))
			}
		}
	}
	s.commits.Add(1)
	s.appends.Add(appends)
	s.events.Add(events)
	if events > 0 {
		s.broadcast()
	}
	s.logger.Debug("event store batch committed", slog.Int("requests", len(taken)),
		slog.Int64("appends", appends), slog.Int64("events", events))
	for _, r := range taken {
		r.reply <- r.res
	}
}

// commitBatch runs one BEGIN IMMEDIATE transaction for the batch. Each
// request runs inside its own savepoint: a request-level failure (conflict,
// duplicate id) is rolled back to it and recorded in r.res, and the batch
// goes on. Any other error aborts the whole transaction and is returned;
// then no request's events are stored.
func (s *Store) commitBatch(batch []*appendRequest) error {
	// The transaction is the writer's, not a caller's: one caller's
	// cancellation must not abort the others' commit.
	ctx := context.Background()
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()

	w := batchWriter{
		ctx:      ctx,
		tx:       tx,
		insert:   tx.StmtContext(ctx, s.stmts.insert),
		version:  tx.StmtContext(ctx, s.stmts.streamVersion),
		idExists: tx.StmtContext(ctx, s.stmts.idExists),
		versions: make(map[string]int64),
	}
	// The head is read inside the transaction rather than cached, so it is
	// right even after a failed commit or a write by another process.
	err = tx.StmtContext(ctx, s.stmts.head).QueryRowContext(ctx).Scan(&w.headPos, &w.headHash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read head: %w", err)
	}

	for _, r := range batch {
		if _, err := tx.ExecContext(ctx, "SAVEPOINT request"); err != nil {
			return fmt.Errorf("savepoint: %w", err)
		}
		r.res = appendResult{}
		evs, err := w.apply(r)
		var reqErr *requestError
		switch {
		case err == nil:
			r.res.parts = evs
		case errors.As(err, &reqErr):
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO request"); err != nil {
				return fmt.Errorf("rollback to savepoint: %w", err)
			}
			r.res.err = reqErr.err
		default:
			return err
		}
		if _, err := tx.ExecContext(ctx, "RELEASE request"); err != nil {
			return fmt.Errorf("release savepoint: %w", err)
		}
	}
	return tx.Commit()
}

// requestError is a failure that concerns one request only.
type requestError struct{ err error }

func (e *requestError) Error() string { return e.err.Error() }
func (e *requestError) Unwrap() error { return e.err }

// batchWriter holds the state of one write transaction: the head as it
// stands after the requests applied so far, and the stream versions read or
// written so far.
type batchWriter struct {
	ctx                       context.Context
	tx                        *sql.Tx
	insert, version, idExists *sql.Stmt
	headPos                   int64
	headHash                  string
	versions                  map[string]int64
}

// apply checks the expected version of each of r's parts against its
// stream as it stands in this transaction (including earlier requests of
// the batch), then inserts the parts' events with the next versions,
// positions and hashes. The batch state advances only if every part
// succeeds; otherwise the caller rolls back to the request's savepoint.
func (w *batchWriter) apply(r *appendRequest) ([][]eventstore.Event, error) {
	out := make([][]eventstore.Event, len(r.parts))
	pos, prev := w.headPos, w.headHash
	newVersions := make(map[string]int64, len(r.parts))
	for pi, p := range r.parts {
		cur, ok := w.versions[p.stream]
		if !ok {
			if err := w.version.QueryRowContext(w.ctx, p.stream).Scan(&cur); err != nil {
				return nil, fmt.Errorf("read version of %s: %w", p.stream, err)
			}
			w.versions[p.stream] = cur
		}
		if p.expected != eventstore.AnyVersion && p.expected != cur {
			return nil, &requestError{&eventstore.ConflictError{Stream: p.stream, Expected: p.expected, Actual: cur}}
		}
		evs := make([]eventstore.Event, len(p.events))
		for i, ev := range p.events {
			pos++
			ev.Version = cur + 1 + int64(i)
			ev.Position = pos
			ev.PrevHash = prev
			ev.Hash = ev.ComputeHash()
			prev = ev.Hash
			_, err := w.insert.ExecContext(w.ctx,
				ev.Position, ev.ID, ev.Stream, ev.Version, ev.Type, ev.Schema, eventstore.FormatTime(ev.Time),
				ev.Actor, ev.Reason, ev.Trigger, ev.CorrelationID, ev.CausationID,
				string(ev.Data), ev.PrevHash, ev.Hash, ev.EffectiveOn)
			if err != nil {
				return nil, w.insertError(p.stream, ev.ID, err)
			}
			evs[i] = ev
		}
		out[pi] = evs
		newVersions[p.stream] = evs[len(evs)-1].Version
	}
	w.headPos, w.headHash = pos, prev
	for st, v := range newVersions {
		w.versions[st] = v
	}
	return out, nil
}

// insertError classifies a failed insert. A unique violation on the id
// column is the caller's duplicate; anything else fails the batch.
func (w *batchWriter) insertError(stream, id string, err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrConstraintUnique {
		var n int
		if qerr := w.idExists.QueryRowContext(w.ctx, id).Scan(&n); qerr == nil && n > 0 {
			return &requestError{fmt.Errorf("sqlite: append %s: event %s: %w", stream, id, eventstore.ErrDuplicateID)}
		}
	}
	return fmt.Errorf("insert event %s into %s: %w", id, stream, err)
}
