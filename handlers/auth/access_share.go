package auth

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// shareInterval is the shortest time between two shipments of this
// replica's changed lines to the shared bucket: a flood adds to one line
// here many times a second but costs the bucket at most one write of it per
// interval.
const shareInterval = 250 * time.Millisecond

// accessShare ships this replica's security log lines to a JetStream
// key-value bucket every replica shares, and mirrors the bucket into the
// access_log_shared table of the local security log file, which
// [AccessLog.Query] then reads: GET /api/v1/audit/access on any replica
// shows the denials of all.
//
// A line is the key l.<replica>.<local id> with the JSON of its
// [AccessEntry]. Its shared id (what the API pages by) is the bucket
// revision at which the line was created: ids grow in the order lines
// appear across replicas, whichever replica is asked.
type accessShare struct {
	kv      jetstream.KeyValue
	db      *sql.DB
	replica string
	onErr   func(error)

	flushMu sync.Mutex // one shipment at a time

	mu     sync.Mutex
	dirty  map[int64]struct{} // local ids changed since the last shipment
	shared map[int64]uint64   // local id -> shared id
	wake   chan struct{}
}

// sharedLine is a line in the bucket.
type sharedLine struct {
	AccessEntry
	Replica string `json:"replica"`
}

// Share makes the security log shared through kv: each line this process
// records is shipped to the bucket (within [shareInterval]), and Query
// answers from a local mirror of the whole bucket, kept by a watch. It
// returns when the mirror holds what the bucket held; stop ships what is
// left and ends the background work. onErr, if not nil, is told of failed
// shipments and mirror updates (retried on the next change).
//
// The failed-authentication limiter stays per replica; see docs/nats.md.
func (l *AccessLog) Share(ctx context.Context, kv jetstream.KeyValue, onErr func(error)) (stop func(), err error) {
	if _, err := l.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS access_log_shared (
		id        INTEGER PRIMARY KEY,
		key       TEXT NOT NULL UNIQUE,
		replica   TEXT NOT NULL,
		time      TEXT NOT NULL,
		last_time TEXT NOT NULL,
		count     INTEGER NOT NULL,
		client    TEXT NOT NULL,
		actor     TEXT NOT NULL,
		method    TEXT NOT NULL,
		path      TEXT NOT NULL,
		outcome   TEXT NOT NULL,
		status    INTEGER NOT NULL
	);
	DELETE FROM access_log_shared`); err != nil {
		return nil, fmt.Errorf("auth: create access_log_shared table: %w", err)
	}
	var rb [4]byte
	if _, err := rand.Read(rb[:]); err != nil {
		return nil, err
	}
	sh := &accessShare{kv: kv, db: l.db, replica: hex.EncodeToString(rb[:]), onErr: onErr,
		dirty: map[int64]struct{}{}, shared: map[int64]uint64{}, wake: make(chan struct{}, 1)}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w, err := kv.WatchAll(bg)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("auth: watch the shared security log: %w", err)
	}
	// The initial values, up to the nil that marks their end.
	for e := range w.Updates() {
		if e == nil {
			break
		}
		sh.apply(ctx, e)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for e := range w.Updates() {
			if e != nil {
				sh.apply(bg, e)
			}
		}
	})
	wg.Go(func() { sh.ship(bg) })
	l.mu.Lock()
	l.share = sh
	l.mu.Unlock()
	return func() {
		fctx, fcancel := context.WithTimeout(context.Background(), 2*time.Second)
		sh.flush(fctx)
		fcancel()
		cancel()
		_ = w.Stop()
		wg.Wait()
	}, nil
}

func (s *accessShare) mark(id int64) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.dirty[id] = struct{}{}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *accessShare) report(err error) {
	// Ending (stop, or the serving context) is not a failure to report.
	if errors.Is(err, context.Canceled) {
		return
	}
	if err != nil && s.onErr != nil {
		s.onErr(err)
	}
}

// ship sends changed lines when woken, at most once per shareInterval.
func (s *accessShare) ship(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		}
		s.flush(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(shareInterval):
		}
	}
}

// flush writes every changed line to the bucket. A line new to the bucket
// is created (its revision becomes its shared id), then written with that
// id; a failed write is retried at the next change.
func (s *accessShare) flush(ctx context.Context) {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	ids := make([]int64, 0, len(s.dirty))
	for id := range s.dirty {
		ids = append(ids, id)
	}
	clear(s.dirty)
	s.mu.Unlock()
	for _, id := range ids {
		if err := s.ship1(ctx, id); err != nil {
			s.mu.Lock()
			s.dirty[id] = struct{}{}
			s.mu.Unlock()
			s.report(err)
		}
	}
}

func (s *accessShare) ship1(ctx context.Context, id int64) error {
	var e AccessEntry
	var t, lt string
	err := s.db.QueryRowContext(ctx, `SELECT time, COALESCE(last_time, time), count, client, actor, method, path, outcome, status
		FROM access_log WHERE id = ?`, id).Scan(&t, &lt, &e.Count, &e.Client, &e.Actor, &e.Method, &e.Path, &e.Outcome, &e.Status)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // pruned meanwhile
	}
	if err != nil {
		return fmt.Errorf("auth: ship security log line: %w", err)
	}
	e.Time, _ = time.Parse(time.RFC3339Nano, t)
	e.LastTime, _ = time.Parse(time.RFC3339Nano, lt)
	key := "l." + s.replica + "." + strconv.FormatInt(id, 10)
	s.mu.Lock()
	sid, ok := s.shared[id]
	s.mu.Unlock()
	if !ok {
		val, _ := json.Marshal(sharedLine{AccessEntry: e, Replica: s.replica})
		rev, err := s.kv.Create(ctx, key, val)
		if errors.Is(err, jetstream.ErrKeyExists) {
			// Shipped before its id was forgotten (see below): read it.
			rev, err = s.sharedID(ctx, key)
		}
		if err != nil {
			return fmt.Errorf("auth: ship security log line: %w", err)
		}
		sid = rev
		s.mu.Lock()
		if len(s.shared) >= maxRuns {
			// Lines older than AggregateWindow are not written again;
			// forgetting their ids bounds the memory.
			clear(s.shared)
		}
		s.shared[id] = sid
		s.mu.Unlock()
	}
	e.ID = int64(sid)
	val, _ := json.Marshal(sharedLine{AccessEntry: e, Replica: s.replica})
	if _, err := s.kv.Put(ctx, key, val); err != nil {
		return fmt.Errorf("auth: ship security log line: %w", err)
	}
	return nil
}

// sharedID reads the shared id of a line already in the bucket.
func (s *accessShare) sharedID(ctx context.Context, key string) (uint64, error) {
	e, err := s.kv.Get(ctx, key)
	if err != nil {
		return 0, err
	}
	var line sharedLine
	if err := json.Unmarshal(e.Value(), &line); err != nil || line.ID == 0 {
		return e.Revision(), nil
	}
	return uint64(line.ID), nil
}

// apply mirrors one bucket entry into access_log_shared. A line written
// without its shared id yet (just created) is skipped: its next write
// carries it.
func (s *accessShare) apply(ctx context.Context, e jetstream.KeyValueEntry) {
	if e.Operation() != jetstream.KeyValuePut {
		_, err := s.db.ExecContext(ctx, `DELETE FROM access_log_shared WHERE key = ?`, e.Key())
		s.report(err)
		return
	}
	var line sharedLine
	if err := json.Unmarshal(e.Value(), &line); err != nil {
		s.report(fmt.Errorf("auth: decode %s: %w", e.Key(), err))
		return
	}
	if line.ID == 0 {
		return
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO access_log_shared (id, key, replica, time, last_time, count, client, actor, method, path, outcome, status)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET last_time = excluded.last_time, count = excluded.count`,
		line.ID, e.Key(), line.Replica, line.Time.UTC().Format(time.RFC3339Nano), line.LastTime.UTC().Format(time.RFC3339Nano),
		line.Count, line.Client, line.Actor, line.Method, line.Path, line.Outcome, line.Status)
	if err != nil {
		s.report(fmt.Errorf("auth: mirror security log line: %w", err))
	}
}

// prune deletes the shared lines whose last denial is older than before,
// from the bucket (whichever replica wrote them: a replica that is gone
// leaves its lines to the others) and from the mirror.
func (s *accessShare) prune(ctx context.Context, before time.Time) error {
	rows, err := s.db.QueryContext(ctx, `SELECT key FROM access_log_shared WHERE last_time < ?`, before.UTC().Format(time.RFC3339Nano))
	if err != nil {
		return fmt.Errorf("auth: prune shared security log: %w", err)
	}
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return fmt.Errorf("auth: prune shared security log: %w", err)
		}
		keys = append(keys, k)
	}
	rows.Close()
	for _, k := range keys {
		if err := s.kv.Purge(ctx, k); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("auth: prune shared security log: %w", err)
		}
		if _, err := s.db.ExecContext(ctx, `DELETE FROM access_log_shared WHERE key = ?`, k); err != nil {
			return fmt.Errorf("auth: prune shared security log: %w", err)
		}
	}
	if len(keys) > 0 {
		// The purge markers themselves, once every watcher had time to
		// see them (the client's default: 30 minutes old).
		if err := s.kv.PurgeDeletes(ctx); err != nil {
			return fmt.Errorf("auth: prune shared security log: %w", err)
		}
	}
	return nil
}
