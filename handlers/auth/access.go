package auth

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// AccessEntry is one line of the security log: a request that was denied.
type AccessEntry struct {
	ID      int64     `json:"id"`
	Time    time.Time `json:"time"`
	Client  string    `json:"client"`  // remote address (host only)
	Actor   string    `json:"actor"`   // token name when the token was valid, else ""
	Method  string    `json:"method"`  // HTTP method
	Path    string    `json:"path"`    // URL path, without the query
	Outcome string    `json:"outcome"` // unauthenticated | forbidden | rate_limited | auth_rate_limited
	Status  int       `json:"status"`
}

// AccessLog keeps the security log in SQLite (the event store's file, so it
// is as durable as the log it protects). It is safe for concurrent use.
type AccessLog struct {
	db *sql.DB
}

// NewAccessLog creates the access_log table in db if needed.
func NewAccessLog(ctx context.Context, db *sql.DB) (*AccessLog, error) {
	_, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS access_log (
		id      INTEGER PRIMARY KEY,
		time    TEXT NOT NULL,
		client  TEXT NOT NULL,
		actor   TEXT NOT NULL,
		method  TEXT NOT NULL,
		path    TEXT NOT NULL,
		outcome TEXT NOT NULL,
		status  INTEGER NOT NULL
	);
	CREATE INDEX IF NOT EXISTS access_log_time ON access_log (time)`)
	if err != nil {
		return nil, fmt.Errorf("auth: create access_log table: %w", err)
	}
	return &AccessLog{db: db}, nil
}

// Record appends an entry. Time is set here when zero.
func (l *AccessLog) Record(ctx context.Context, e AccessEntry) error {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	if len(e.Path) > 500 {
		e.Path = e.Path[:500]
	}
	_, err := l.db.ExecContext(ctx, `INSERT INTO access_log (time, client, actor, method, path, outcome, status)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, e.Time.UTC().Format(time.RFC3339Nano), e.Client, e.Actor, e.Method, e.Path, e.Outcome, e.Status)
	if err != nil {
		return fmt.Errorf("auth: record access: %w", err)
	}
	return nil
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

// Query returns entries in id order.
func (l *AccessLog) Query(ctx context.Context, q AccessQuery) ([]AccessEntry, error) {
	sqlq := `SELECT id, time, client, actor, method, path, outcome, status FROM access_log WHERE id > ?`
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
		sqlq += " AND time >= ?"
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
		var t string
		if err := rows.Scan(&e.ID, &t, &e.Client, &e.Actor, &e.Method, &e.Path, &e.Outcome, &e.Status); err != nil {
			return nil, fmt.Errorf("auth: query access log: %w", err)
		}
		e.Time, _ = time.Parse(time.RFC3339Nano, t)
		out = append(out, e)
	}
	return out, rows.Err()
}
