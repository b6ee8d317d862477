package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/partyledger/partyledger/eventstore"
)

// SubscribeBatch is the most events [Store.Subscribe] passes to fn at once.
const SubscribeBatch = 1000

const selectEvents = `SELECT position, id, stream, version, type, schema, time, actor, reason,
	"trigger", correlation_id, causation_id, data, prev_hash, hash, effective_on FROM events `

// ReadStream implements [eventstore.Store.ReadStream]. A fromVersion below 1
// reads from the start. It reads from the query-only pool, which in WAL mode
// does not wait for the writer. Returns [eventstore.ErrClosed] after Close,
// ctx.Err() on cancellation, and an error matching [eventstore.ErrUnavailable]
// when the file cannot be read.
func (s *Store) ReadStream(ctx context.Context, stream string, fromVersion int64) ([]eventstore.Event, error) {
	if !s.begin() {
		return nil, eventstore.ErrClosed
	}
	defer s.end()
	evs, err := s.query(ctx, selectEvents+`WHERE stream = ? AND version >= ? ORDER BY version`, stream, fromVersion)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read stream %s: %w", stream, err)
	}
	return evs, nil
}

// ReadAll implements [eventstore.Store.ReadAll]. limit must be at least 1
// (else the error matches [eventstore.ErrInvalid]). Other errors are as for
// [Store.ReadStream].
func (s *Store) ReadAll(ctx context.Context, after int64, limit int) ([]eventstore.Event, error) {
	if limit < 1 {
		return nil, fmt.Errorf("sqlite: read all: %w: limit %d", eventstore.ErrInvalid, limit)
	}
	if !s.begin() {
		return nil, eventstore.ErrClosed
	}
	defer s.end()
	evs, err := s.query(ctx, selectEvents+`WHERE position > ? ORDER BY position LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read all after %d: %w", after, err)
	}
	return evs, nil
}

// Head implements [eventstore.Store.Head]. It reads the committed head from
// the database. Errors are as for [Store.ReadStream].
func (s *Store) Head(ctx context.Context) (position int64, hash string, err error) {
	if !s.begin() {
		return 0, "", eventstore.ErrClosed
	}
	defer s.end()
	st, err := s.readStmt(ctx, headSQL)
	if err != nil {
		return 0, "", fmt.Errorf("sqlite: head: %w", unavailable(err))
	}
	err = st.QueryRowContext(ctx).Scan(&position, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("sqlite: head: %w", unavailable(err))
	}
	return position, hash, nil
}

// Subscribe implements [eventstore.Store.Subscribe]. It catches up with
// [Store.ReadAll] in batches of up to [SubscribeBatch] events, then waits for
// the writer's post-commit broadcast, so new events are delivered without
// polling delay. fn is called from the calling goroutine, one batch at a
// time; a slow fn delays only this subscription. Returns ctx.Err() when ctx
// is done, the error fn returned, [eventstore.ErrClosed] when the store is
// closed, or a read error.
func (s *Store) Subscribe(ctx context.Context, after int64, fn func(ctx context.Context, events []eventstore.Event) error) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		// Take the channel before reading: a commit after the read closes
		// it, so it cannot be missed.
		changed := s.changed()
		evs, err := s.ReadAll(ctx, after, SubscribeBatch)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return ctxErr
			}
			return err
		}
		if len(evs) > 0 {
			if err := fn(ctx, evs); err != nil {
				return err
			}
			after = evs[len(evs)-1].Position
			continue
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.quit:
			return eventstore.ErrClosed
		}
	}
}

// query runs a SELECT of selectEvents columns on the read pool.
func (s *Store) query(ctx context.Context, q string, args ...any) ([]eventstore.Event, error) {
	st, err := s.readStmt(ctx, q)
	if err != nil {
		return nil, unavailable(err)
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var evs []eventstore.Event
	for rows.Next() {
		var (
			ev   eventstore.Event
			tm   string
			data []byte
		)
		if err := rows.Scan(&ev.Position, &ev.ID, &ev.Stream, &ev.Version, &ev.Type, &ev.Schema, &tm,
			&ev.Actor, &ev.Reason, &ev.Trigger, &ev.CorrelationID, &ev.CausationID, &data,
			&ev.PrevHash, &ev.Hash, &ev.EffectiveOn); err != nil {
			return nil, err
		}
		ev.Time, err = time.Parse(eventstore.TimeFormat, tm)
		if err != nil {
			return nil, fmt.Errorf("event at position %d: bad time %q: %w", ev.Position, tm, err)
		}
		ev.Data = data
		evs = append(evs, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable(err)
	}
	return evs, nil
}

// readStmt returns the prepared statement for q on the read pool, preparing
// it on first use. database/sql keeps one prepared copy per connection of
// the pool, so a hot query is parsed once per connection, not once a call.
func (s *Store) readStmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := s.readStmts.Load(q); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.rdb.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if old, loaded := s.readStmts.LoadOrStore(q, st); loaded {
		st.Close()
		return old.(*sql.Stmt), nil
	}
	return st, nil
}

// closeReadStmts closes the statements readStmt prepared.
func (s *Store) closeReadStmts() error {
	var errs []error
	s.readStmts.Range(func(k, v any) bool {
		errs = append(errs, v.(*sql.Stmt).Close())
		s.readStmts.Delete(k)
		return true
	})
	return errors.Join(errs...)
}
