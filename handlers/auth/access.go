package auth

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// AccessEntry is one line of the security log: a request that was denied,
// or a run of identical denials aggregated into one line.
type AccessEntry struct {
	ID       int64     `json:"id"`
	Time     time.Time `json:"time"`      // the first denial of the run
	LastTime time.Time `json:"last_time"` // the last denial of the run
	Count    int64     `json:"count"`     // how many identical denials the line stands for
	Client   string    `json:"client"`    // client address (host only; see the trusted-proxy setting)
	Actor    string    `json:"actor"`     // token name when the token was valid, else ""
	Method   string    `json:"method"`    // HTTP method
	Path     string    `json:"path"`      // URL path, without the query
	Outcome  string    `json:"outcome"`   // unauthenticated | forbidden | rate_limited | auth_rate_limited | stream_limited | oidc_signed_in | oidc_refused
	Status   int       `json:"status"`
}

// AggregateWindow is how long identical denials (same client, actor,
// method, path, outcome and status) keep adding to one line of the security
// log instead of writing new ones: a flood from one address is one line a
// minute, whatever its rate.
const AggregateWindow = time.Minute

// DefaultAccessLogRetention is how long security log lines are kept.
const DefaultAccessLogRetention = 90 * 24 * time.Hour

// AccessLog keeps the security log in SQLite, in a file of its own (not the
// event log's: a flood of denials must neither grow nor slow the log it
// protects). It is safe for concurrent use.
type AccessLog struct {
	db  *sql.DB
	Now func() time.Time

	mu   sync.Mutex
	runs map[accessKey]accessRun // open aggregation runs

	share *accessShare // set by Share: the lines of every replica (access_share.go)
}

type accessKey struct {
	client, actor, method, path, outcome string
	status                               int
}

type accessRun struct {
	id    int64
	start time.Time
}

// maxRuns bounds the open runs kept in memory; beyond it they are
// forgotten (the next denial of a forgotten run starts a new line).
const maxRuns = 10_000

// NewAccessLog creates the access_log table in db if needed, and adds the
// aggregation columns to a table made by an older version.
func NewAccessLog(ctx context.Context, db *sql.DB) (*AccessLog, error) {
	_, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS access_log (
		id        INTEGER PRIMARY KEY,
		time      TEXT NOT NULL,
		client    TEXT NOT NULL,
		actor     TEXT NOT NULL,
		method    TEXT NOT NULL,
		path      TEXT NOT NULL,
		outcome   TEXT NOT NULL,
		status    INTEGER NOT NULL,
		last_time TEXT,
		count     INTEGER NOT NULL DEFAULT 1
	);
	CREATE INDEX IF NOT EXISTS access_log_time ON access_log (time)`)
	if err != nil {
		return nil, fmt.Errorf("auth: create access_log table: %w", err)
	}
	for _, col := range []struct{ name, decl string }{{"last_time", "TEXT"}, {"count", "INTEGER NOT NULL DEFAULT 1"}} {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_info('access_log') WHERE name = ?`, col.name).Scan(&n); err != nil {
			return nil, fmt.Errorf("auth: upgrade access_log table: %w", err)
		}
		if n == 0 {
			if _, err := db.ExecContext(ctx, `ALTER TABLE access_log ADD COLUMN `+col.name+` `+col.decl); err != nil {
				return nil, fmt.Errorf("auth: upgrade access_log table: %w", err)
			}
		}
	}
	return &AccessLog{db: db, runs: map[accessKey]accessRun{}}, nil
}

func (l *AccessLog) now() time.Time {
	if l.Now != nil {
		return l.Now().UTC()
	}
	return time.Now().UTC()
}

// Record logs a denial. An identical denial within [AggregateWindow] of
// the first of its run adds to that run's line (count, last_time) instead
// of writing a new one. Time is set here when zero.
func (l *AccessLog) Record(ctx context.Context, e AccessEntry) error {
	if e.Time.IsZero() {
		e.Time = l.now()
	}
	e.Time = e.Time.UTC()
	if len(e.Path) > 500 {
		e.Path = e.Path[:500]
	}
	ts := e.Time.Format(time.RFC3339Nano)
	k := accessKey{e.Client, e.Actor, e.Method, e.Path, e.Outcome, e.Status}
	l.mu.Lock()
	defer l.mu.Unlock()
	if run, ok := l.runs[k]; ok && e.Time.Sub(run.start) < AggregateWindow {
		res, err := l.db.ExecContext(ctx, `UPDATE access_log SET count = count + 1, last_time = ? WHERE id = ?`, ts, run.id)
		if err != nil {
			return fmt.Errorf("auth: record access: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			l.share.mark(run.id)
			return nil
		}
		// The line was pruned meanwhile: start a new one.
	}
	res, err := l.db.ExecContext(ctx, `INSERT INTO access_log (time, last_time, count, client, actor, method, path, outcome, status)
		VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?)`, ts, ts, e.Client, e.Actor, e.Method, e.Path, e.Outcome, e.Status)
	if err != nil {
		return fmt.Errorf("auth: record access: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("auth: record access: %w", err)
	}
	if len(l.runs) >= maxRuns {
		for rk, run := range l.runs {
			if e.Time.Sub(run.start) >= AggregateWindow || len(l.runs) >= maxRuns {
				delete(l.runs, rk)
			}
		}
	}
	l.runs[k] = accessRun{id: id, start: e.Time}
	l.share.mark(id)
	return nil
}

// Prune deletes the lines whose last denial is older than before and
// returns how many it deleted.
func (l *AccessLog) Prune(ctx context.Context, before time.Time) (int64, error) {
	res, err := l.db.ExecContext(ctx, `DELETE FROM access_log WHERE COALESCE(last_time, time) < ?`,
		before.UTC().Format(time.RFC3339Nano))
	if err != nil {
		return 0, fmt.Errorf("auth: prune access log: %w", err)
	}
	n, _ := res.RowsAffected()
	if l.share != nil {
		if err := l.share.prune(ctx, before); err != nil {
			return n, err
		}
	}
	return n, nil
}

// RunRetention prunes lines older than retention now and then every
// interval until ctx ends. Errors are passed to onErr (if not nil).
func (l *AccessLog) RunRetention(ctx context.Context, retention, interval time.Duration, onErr func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := l.Prune(ctx, l.now().Add(-retention)); err != nil && ctx.Err() == nil && onErr != nil {
			onErr(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// AccessQuery filters the security log. Zero fields do not filter.
type AccessQuery struct {
	After   int64 // entries with id > After
	Limit   int   // at most this many (1..500)
	Outcome string
	Actor   string
	Client  string
	From    time.Time
	To      time.Time
}

// Query returns entries in id order: this process's lines, or, once
// shared ([AccessLog.Share]), the lines of every replica.
func (l *AccessLog) Query(ctx context.Context, q AccessQuery) ([]AccessEntry, error) {
	table := "access_log"
	if l.share != nil {
		table = "access_log_shared"
	}
	sqlq := `SELECT id, time, COALESCE(last_time, time), count, client, actor, method, path, outcome, status FROM ` + table + ` WHERE id > ?`
	args := []any{q.After}
	for _, f := range []struct {
		col, val string
	}{{"outcome", q.Outcome}, {"actor", q.Actor}, {"client", q.Client}} {
		if f.val != "" {
			sqlq += " AND " + f.col + " = ?"
			args = append(args, f.val)
		}
	}
	if !q.From.IsZero() {
		sqlq += " AND COALESCE(last_time, time) >= ?"
		args = append(args, q.From.UTC().Format(time.RFC3339Nano))
	}
	if !q.To.IsZero() {
		sqlq += " AND time <= ?"
		args = append(args, q.To.UTC().Format(time.RFC3339Nano))
	}
	if q.Limit <= 0 || q.Limit > 500 {
		q.Limit = 100
	}
	sqlq += " ORDER BY id LIMIT ?"
	args = append(args, q.Limit)
	rows, err := l.db.QueryContext(ctx, sqlq, args...)
	if err != nil {
		return nil, fmt.Errorf("auth: query access log: %w", err)
	}
	defer rows.Close()
	out := []AccessEntry{}
	for rows.Next() {
		var e AccessEntry
		var t, lt string
		if err := rows.Scan(&e.ID, &t, &lt, &e.Count, &e.Client, &e.Actor, &e.Method, &e.Path, &e.Outcome, &e.Status); err != nil {
			return nil, fmt.Errorf("auth: query access log: %w", err)
		}
		e.Time, _ = time.Parse(time.RFC3339Nano, t)
		e.LastTime, _ = time.Parse(time.RFC3339Nano, lt)
		out = append(out, e)
	}
	return out, rows.Err()
}
