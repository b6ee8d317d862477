package webhooks

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/partyledger/partyledger/domain"
)

// sqliteStorage keeps subscriptions, delivery attempts and history in three
// tables of the event log's SQLite file (opened with sqlite.OpenDB), so that
// they share its durability and survive a rebuild of the read model. One
// process owns that file (cmd/partyledger/lock.go); transactions serialise
// its writers.
type sqliteStorage struct {
	db *sql.DB
}

var _ storage = (*sqliteStorage)(nil)

func openSQLiteStorage(ctx context.Context, db *sql.DB) (*sqliteStorage, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("webhooks: create tables: %w", err)
	}
	defer tx.Rollback()
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS webhook_subscriptions (
			id              TEXT PRIMARY KEY,
			url             TEXT NOT NULL,
			description     TEXT NOT NULL,
			filter          TEXT NOT NULL,
			secret          TEXT NOT NULL,
			previous_secret TEXT,
			previous_until  TEXT,
			status          TEXT NOT NULL,
			disabled_reason TEXT NOT NULL DEFAULT '',
			disabled_at     TEXT,
			position        INTEGER NOT NULL,
			attempts        INTEGER NOT NULL DEFAULT 0,
			next_attempt_at TEXT,
			generation      INTEGER NOT NULL DEFAULT 1,
			created_at      TEXT NOT NULL,
			created_by      TEXT NOT NULL,
			updated_at      TEXT NOT NULL
		)`,
		`CREATE TABLE IF NOT EXISTS webhook_deliveries (
			id              INTEGER PRIMARY KEY AUTOINCREMENT,
			subscription_id TEXT NOT NULL,
			event_id        TEXT NOT NULL,
			position        INTEGER NOT NULL,
			event_type      TEXT NOT NULL,
			attempt         INTEGER NOT NULL,
			at              TEXT NOT NULL,
			status_code     INTEGER NOT NULL,
			latency_ms      INTEGER NOT NULL,
			error           TEXT NOT NULL,
			outcome         TEXT NOT NULL,
			next_retry_at   TEXT
		)`,
		`CREATE INDEX IF NOT EXISTS webhook_deliveries_by_subscription ON webhook_deliveries (subscription_id, id)`,
		`CREATE TABLE IF NOT EXISTS webhook_subscription_events (
			id              INTEGER PRIMARY KEY AUTOINCREMENT,
			subscription_id TEXT NOT NULL,
			at              TEXT NOT NULL,
			kind            TEXT NOT NULL,
			actor           TEXT NOT NULL,
			detail          TEXT NOT NULL
		)`,
		`CREATE INDEX IF NOT EXISTS webhook_subscription_events_by_subscription ON webhook_subscription_events (subscription_id, id)`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("webhooks: create tables: %w", err)
		}
	}
	// Added in issue 18: subscriptions made before it get redacted payloads
	// until an auditor or admin re-creates them.
	var hasFull int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_info('webhook_subscriptions') WHERE name = 'full_envelope'`).Scan(&hasFull); err != nil {
		return nil, fmt.Errorf("webhooks: create tables: %w", err)
	}
	if hasFull == 0 {
		if _, err := tx.ExecContext(ctx, `ALTER TABLE webhook_subscriptions ADD COLUMN full_envelope INTEGER NOT NULL DEFAULT 0`); err != nil {
			return nil, fmt.Errorf("webhooks: create tables: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("webhooks: create tables: %w", err)
	}
	return &sqliteStorage{db: db}, nil
}

func (st *sqliteStorage) count(ctx context.Context) (int, error) {
	var n int
	err := st.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_subscriptions`).Scan(&n)
	return n, err
}

func (st *sqliteStorage) insert(ctx context.Context, sub Subscription, recs ...Record) error {
	fj, _ := json.Marshal(sub.Filter)
	return st.tx(ctx, func(tx *sql.Tx) error {
		var prev, prevUntil any
		if sub.previous != "" {
			prev, prevUntil = sub.previous, fmtTime(sub.previousUntil)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_subscriptions (id, url, description, filter,
				secret, previous_secret, previous_until, status, disabled_reason, disabled_at, position, attempts,
				next_attempt_at, generation, created_at, created_by, updated_at, full_envelope)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			sub.ID, sub.URL, sub.Description, string(fj), sub.secret, prev, prevUntil, sub.Status,
			sub.DisabledReason, fmtTimePtr(sub.DisabledAt), sub.Position, sub.FailedAttempts,
			fmtTimePtr(sub.NextAttemptAt), sub.Generation, fmtTime(sub.CreatedAt), sub.CreatedBy,
			fmtTime(sub.UpdatedAt), sub.FullEnvelope); err != nil {
			return err
		}
		for _, rec := range recs {
			if err := record(ctx, tx, sub.ID, rec); err != nil {
				return err
			}
		}
		return nil
	})
}

const subCols = `id, url, description, filter, secret, previous_secret, previous_until, status,
	disabled_reason, disabled_at, position, attempts, next_attempt_at, generation, created_at,
	created_by, updated_at, full_envelope`

type scanner interface{ Scan(...any) error }

func scanSub(sc scanner) (Subscription, error) {
	var sub Subscription
	var filter, secret string
	var prev, prevUntil, disabledAt, nextAt sql.NullString
	var created, updated string
	if err := sc.Scan(&sub.ID, &sub.URL, &sub.Description, &filter, &secret, &prev, &prevUntil,
		&sub.Status, &sub.DisabledReason, &disabledAt, &sub.Position, &sub.FailedAttempts, &nextAt,
		&sub.Generation, &created, &sub.CreatedBy, &updated, &sub.FullEnvelope); err != nil {
		return sub, err
	}
	if err := json.Unmarshal([]byte(filter), &sub.Filter); err != nil {
		return sub, fmt.Errorf("bad stored filter of %s: %w", sub.ID, err)
	}
	sub.Filter = sub.Filter.Normalize()
	sub.CreatedAt, sub.UpdatedAt = parseTime(created), parseTime(updated)
	sub.DisabledAt, sub.NextAttemptAt = parseTimePtr(disabledAt), parseTimePtr(nextAt)
	sub.secret = secret
	if until := parseTimePtr(prevUntil); prev.Valid && until != nil {
		sub.previous, sub.previousUntil = prev.String, *until
	}
	return sub, nil
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func getSub(ctx context.Context, q queryer, id string) (Subscription, error) {
	sub, err := scanSub(q.QueryRowContext(ctx, `SELECT `+subCols+` FROM webhook_subscriptions WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Subscription{}, domain.Errorf(domain.ENOTFOUND, "no subscription with id %s", id)
	}
	return sub, err
}

func (st *sqliteStorage) get(ctx context.Context, id string) (Subscription, error) {
	return getSub(ctx, st.db, id)
}

func (st *sqliteStorage) list(ctx context.Context) ([]Subscription, error) {
	rows, err := st.db.QueryContext(ctx, `SELECT `+subCols+` FROM webhook_subscriptions ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Subscription{}
	for rows.Next() {
		sub, err := scanSub(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, sub)
	}
	return out, rows.Err()
}

func (st *sqliteStorage) remove(ctx context.Context, id string, rec Record) error {
	return st.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM webhook_subscriptions WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return domain.Errorf(domain.ENOTFOUND, "no subscription with id %s", id)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE subscription_id = ?`, id); err != nil {
			return err
		}
		return record(ctx, tx, id, rec)
	})
}

func (st *sqliteStorage) modify(ctx context.Context, id string, fn func(*Subscription) error, rec *Record, d *Delivery) error {
	err := st.tx(ctx, func(tx *sql.Tx) error {
		sub, err := getSub(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := fn(&sub); err != nil {
			return err
		}
		var prev, prevUntil any
		if sub.previous != "" {
			prev, prevUntil = sub.previous, fmtTime(sub.previousUntil)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_subscriptions SET secret = ?, previous_secret = ?,
				previous_until = ?, status = ?, disabled_reason = ?, disabled_at = ?, position = ?, attempts = ?,
				next_attempt_at = ?, generation = ?, updated_at = ? WHERE id = ?`,
			sub.secret, prev, prevUntil, sub.Status, sub.DisabledReason, fmtTimePtr(sub.DisabledAt), sub.Position,
			sub.FailedAttempts, fmtTimePtr(sub.NextAttemptAt), sub.Generation, fmtTime(sub.UpdatedAt), id); err != nil {
			return err
		}
		if rec != nil {
			if err := record(ctx, tx, id, *rec); err != nil {
				return err
			}
		}
		if d != nil {
			return addDelivery(ctx, tx, id, *d)
		}
		return nil
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	return err
}

// addDelivery inserts one attempt and keeps the newest keepDeliveries.
func addDelivery(ctx context.Context, tx *sql.Tx, id string, d Delivery) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (subscription_id, event_id,
			position, event_type, attempt, at, status_code, latency_ms, error, outcome, next_retry_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, d.EventID, d.Position, d.Type, d.Attempt,
		fmtTime(d.At), d.StatusCode, d.LatencyMS, d.Error, d.Outcome, fmtTimePtr(d.NextRetryAt)); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE subscription_id = ? AND id <=
		(SELECT id FROM webhook_deliveries WHERE subscription_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
		id, id, keepDeliveries)
	return err
}

func (st *sqliteStorage) deliveries(ctx context.Context, id string, limit int) ([]Delivery, error) {
	rows, err := st.db.QueryContext(ctx, `SELECT id, event_id, position, event_type, attempt, at, status_code,
		latency_ms, error, outcome, next_retry_at FROM webhook_deliveries WHERE subscription_id = ?
		ORDER BY id DESC LIMIT ?`, id, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Delivery{}
	for rows.Next() {
		var d Delivery
		var at string
		var next sql.NullString
		if err := rows.Scan(&d.ID, &d.EventID, &d.Position, &d.Type, &d.Attempt, &at, &d.StatusCode,
			&d.LatencyMS, &d.Error, &d.Outcome, &next); err != nil {
			return nil, err
		}
		d.At, d.NextRetryAt = parseTime(at), parseTimePtr(next)
		out = append(out, d)
	}
	return out, rows.Err()
}

func (st *sqliteStorage) history(ctx context.Context, id string) ([]Record, error) {
	rows, err := st.db.QueryContext(ctx, `SELECT at, kind, actor, detail FROM webhook_subscription_events
		WHERE subscription_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Record{}
	for rows.Next() {
		var r Record
		var at string
		if err := rows.Scan(&at, &r.Kind, &r.Actor, &r.Detail); err != nil {
			return nil, err
		}
		r.At = parseTime(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

func record(ctx context.Context, tx *sql.Tx, id string, r Record) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO webhook_subscription_events (subscription_id, at, kind, actor, detail)
		VALUES (?, ?, ?, ?, ?)`, id, fmtTime(r.At), r.Kind, r.Actor, r.Detail)
	return err
}

func (st *sqliteStorage) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := st.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

func fmtTimePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return fmtTime(*t)
}

func parseTimePtr(s sql.NullString) *time.Time {
	if !s.Valid {
		return nil
	}
	t := parseTime(s.String)
	return &t
}
