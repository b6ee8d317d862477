package webhooks

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/partyledger/partyledger/domain"
)

// Subscription statuses.
const (
	StatusActive   = "active"
	StatusDisabled = "disabled"
)

// Limits on subscriptions.
const (
	MaxDescription   = 500
	MaxSubscriptions = 1000
	// SecretGrace is how long the previous secret still signs deliveries
	// after a rotation, so receivers can switch without losing messages.
	SecretGrace = 24 * time.Hour
	// keepDeliveries is how many attempt records are kept per subscription.
	keepDeliveries = 1000
)

// Subscription is a webhook receiver and what it wants to hear about. The
// signing secret is never part of it: it is shown once, by
// [Subscriptions.Create] and [Subscriptions.RotateSecret].
type Subscription struct {
	ID             string     `json:"id"`
	URL            string     `json:"url"`
	Description    string     `json:"description"`
	Filter         Filter     `json:"filter"`
	Status         string     `json:"status"`
	DisabledReason string     `json:"disabled_reason,omitempty"`
	DisabledAt     *time.Time `json:"disabled_at,omitempty"`
	// Position is the last event of the log this subscription has handled
	// (delivered, or skipped by the filter).
	Position int64 `json:"position"`
	// FailedAttempts counts the failed attempts at the event after
	// Position; NextAttemptAt is when the next one is due.
	FailedAttempts int        `json:"failed_attempts"`
	NextAttemptAt  *time.Time `json:"next_attempt_at,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	CreatedBy      string     `json:"created_by"`
	UpdatedAt      time.Time  `json:"updated_at"`
	// FullEnvelope is whether deliveries carry the event's integrity and
	// tracing fields (hash, prev_hash, correlation_id, causation_id), which
	// only auditors may read: true when the creator's role may audit.
	FullEnvelope bool `json:"full_envelope"`

	// Generation changes on every change of state or position made from
	// outside the dispatcher (enable, disable, redeliver); a worker that
	// sees another generation stops and is restarted.
	Generation int64 `json:"-"`
	// secret signs deliveries; previous also does until previousUntil.
	secret, previous string
	previousUntil    time.Time
}

// signingSecrets returns the secrets that sign a delivery made at now: the
// current one, and the previous one during its grace period.
func (s *Subscription) signingSecrets(now time.Time) []string {
	out := []string{s.secret}
	if s.previous != "" && now.Before(s.previousUntil) {
		out = append(out, s.previous)
	}
	return out
}

// Delivery is one attempt to deliver one event.
type Delivery struct {
	ID          int64      `json:"id"`
	EventID     string     `json:"event_id"`
	Position    int64      `json:"position"`
	Type        string     `json:"type"`
	Attempt     int        `json:"attempt"`
	At          time.Time  `json:"at"`
	StatusCode  int        `json:"status_code"` // 0 when no HTTP answer came
	LatencyMS   int64      `json:"latency_ms"`
	Error       string     `json:"error,omitempty"`
	Outcome     string     `json:"outcome"` // delivered | failed | gone | exhausted
	NextRetryAt *time.Time `json:"next_retry_at,omitempty"`
}

// Delivery outcomes.
const (
	OutcomeDelivered = "delivered"
	OutcomeFailed    = "failed"    // retried later
	OutcomeGone      = "gone"      // 410: the subscription was disabled
	OutcomeExhausted = "exhausted" // the last retry failed: the subscription was disabled
)

// Record is an entry of a subscription's history: created, secret_rotated,
// enabled, disabled, redelivery, deleted.
type Record struct {
	At     time.Time `json:"at"`
	Kind   string    `json:"kind"`
	Actor  string    `json:"actor"`
	Detail string    `json:"detail,omitempty"`
}

// Record kinds.
const (
	RecordCreated    = "created"
	RecordRotated    = "secret_rotated"
	RecordEnabled    = "enabled"
	RecordDisabled   = "disabled"
	RecordRedelivery = "redelivery"
	RecordDeleted    = "deleted"
)

// SystemActor is the actor of records the dispatcher writes.
const SystemActor = "partyledger"

// Head reports the last position of the event log.
type Head interface {
	Head(ctx context.Context) (position int64, hash string, err error)
}

// Subscriptions stores webhook subscriptions, their delivery attempts and
// their history in three tables of a SQLite database: the event log's file
// (opened with sqlite.OpenDB), so that they share its durability and survive
// a rebuild of the read model. It is safe for concurrent use.
//
// Errors: methods return a *domain.Error with code ENOTFOUND for an unknown
// id and EINVALID for bad input; anything else is an internal error.
type Subscriptions struct {
	db    *sql.DB
	guard *Guard
	log   Head
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	changed chan struct{}
}

// NewSubscriptions creates the tables in db if needed. guard checks URLs at
// registration; log gives the position new subscriptions start after (they
// hear of events appended after their creation).
func NewSubscriptions(ctx context.Context, db *sql.DB, guard *Guard, log Head) (*Subscriptions, error) {
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
	if guard == nil {
		guard = &Guard{}
	}
	return &Subscriptions{db: db, guard: guard, log: log, changed: make(chan struct{})}, nil
}

func (s *Subscriptions) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Changed returns a channel that is closed at the next change made through
// this Subscriptions (create, delete, rotate, enable, disable, redeliver).
// Changes made by another process are not signalled; the [Dispatcher] also
// re-reads the table periodically.
func (s *Subscriptions) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

func (s *Subscriptions) broadcast() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.changed)
	s.changed = make(chan struct{})
}

// NewSubscription is what [Subscriptions.Create] needs.
type NewSubscription struct {
	URL         string
	Description string
	Filter      Filter
	Actor       string
	// FullEnvelope: see [Subscription.FullEnvelope].
	FullEnvelope bool
}

// Create registers a subscription, starting after the log's current head,
// and returns it with its signing secret, which is not shown again. It
// fails with EINVALID (naming every bad field) for a refused URL (see
// [Guard.CheckURL]), a long description or an unknown filter value, and
// with ECONFLICT when [MaxSubscriptions] exist.
func (s *Subscriptions) Create(ctx context.Context, n NewSubscription) (Subscription, string, error) {
	var fields []domain.FieldError
	addErr := func(err error) {
		var de *domain.Error
		if errors.As(err, &de) {
			fields = append(fields, de.Fields...)
		}
	}
	u, err := s.guard.CheckURL(ctx, strings.TrimSpace(n.URL))
	if err != nil {
		addErr(err)
	}
	n.Description = strings.TrimSpace(n.Description)
	if utf8.RuneCountInString(n.Description) > MaxDescription || !utf8.ValidString(n.Description) {
		fields = append(fields, domain.FieldError{Field: "description", Message: fmt.Sprintf("must be at most %d characters", MaxDescription)})
	}
	f := n.Filter.Normalize()
	if err := f.Validate("filter."); err != nil {
		addErr(err)
	}
	if len(fields) > 0 {
		return Subscription{}, "", &domain.Error{Code: domain.EINVALID, Message: "invalid subscription", Fields: fields}
	}
	var count int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_subscriptions`).Scan(&count); err != nil {
		return Subscription{}, "", fmt.Errorf("webhooks: count subscriptions: %w", err)
	}
	if count >= MaxSubscriptions {
		return Subscription{}, "", domain.Errorf(domain.ECONFLICT, "there are already %d subscriptions; delete some first", count)
	}
	head, _, err := s.log.Head(ctx)
	if err != nil {
		return Subscription{}, "", fmt.Errorf("webhooks: read the log head: %w", err)
	}
	secret, err := NewSecret()
	if err != nil {
		return Subscription{}, "", err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Subscription{}, "", fmt.Errorf("webhooks: new id: %w", err)
	}
	now := s.now()
	sub := Subscription{ID: id.String(), URL: u.String(), Description: n.Description, Filter: f,
		Status: StatusActive, Position: head, CreatedAt: now, CreatedBy: n.Actor, UpdatedAt: now, Generation: 1,
		FullEnvelope: n.FullEnvelope, secret: secret}
	fj, _ := json.Marshal(f)
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_subscriptions (id, url, description, filter,
				secret, status, position, created_at, created_by, updated_at, full_envelope)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			sub.ID, sub.URL, sub.Description, string(fj), secret, sub.Status, sub.Position,
			fmtTime(now), sub.CreatedBy, fmtTime(now), sub.FullEnvelope); err != nil {
			return err
		}
		return record(ctx, tx, sub.ID, now, RecordCreated, n.Actor, fmt.Sprintf("url %s, starting after position %d", sub.URL, head))
	})
	if err != nil {
		return Subscription{}, "", fmt.Errorf("webhooks: create subscription: %w", err)
	}
	s.broadcast()
	return sub, secret, nil
}

const subCols = `id, url, description, filter, secret, previous_secret, previous_until, status,
	disabled_reason, disabled_at, position, attempts, next_attempt_at, generation, created_at,
	created_by, updated_at, full_envelope`

type scanner interface{ Scan(...any) error }

func (s *Subscriptions) scan(sc scanner) (Subscription, error) {
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

// Get returns one subscription, or ENOTFOUND.
func (s *Subscriptions) Get(ctx context.Context, id string) (Subscription, error) {
	sub, err := s.scan(s.db.QueryRowContext(ctx, `SELECT `+subCols+` FROM webhook_subscriptions WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Subscription{}, domain.Errorf(domain.ENOTFOUND, "no subscription with id %s", id)
	}
	if err != nil {
		return Subscription{}, fmt.Errorf("webhooks: get subscription %s: %w", id, err)
	}
	return sub, nil
}

// List returns every subscription, oldest first.
func (s *Subscriptions) List(ctx context.Context) ([]Subscription, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+subCols+` FROM webhook_subscriptions ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("webhooks: list subscriptions: %w", err)
	}
	defer rows.Close()
	out := []Subscription{}
	for rows.Next() {
		sub, err := s.scan(rows)
		if err != nil {
			return nil, fmt.Errorf("webhooks: list subscriptions: %w", err)
		}
		out = append(out, sub)
	}
	return out, rows.Err()
}

// Delete removes a subscription and its delivery records; its history
// records stay, with a final "deleted" record. ENOTFOUND for an unknown id.
func (s *Subscriptions) Delete(ctx context.Context, id, actor string) error {
	now := s.now()
	err := s.tx(ctx, func(tx *sql.Tx) error {
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
		return record(ctx, tx, id, now, RecordDeleted, actor, "")
	})
	if err != nil {
		return wrapErr("delete subscription "+id, err)
	}
	s.broadcast()
	return nil
}

// RotateSecret gives the subscription a new secret and returns it (shown
// once). The previous secret keeps signing deliveries, beside the new one,
// for [SecretGrace]. ENOTFOUND for an unknown id.
func (s *Subscriptions) RotateSecret(ctx context.Context, id, actor string) (Subscription, string, error) {
	secret, err := NewSecret()
	if err != nil {
		return Subscription{}, "", err
	}
	now := s.now()
	// The generation stays: the dispatcher reads the secrets before each
	// attempt, so a rotation does not interrupt a delivery.
	err = s.update(ctx, id, RecordRotated, actor, fmt.Sprintf("the previous secret also signs until %s", fmtTime(now.Add(SecretGrace))),
		false, `previous_secret = secret, previous_until = ?, secret = ?`, fmtTime(now.Add(SecretGrace)), secret)
	if err != nil {
		return Subscription{}, "", err
	}
	sub, err := s.Get(ctx, id)
	return sub, secret, err
}

// Enable re-activates a subscription: it resumes after its stored position,
// retrying the event that failed first, with a fresh retry schedule.
// ENOTFOUND for an unknown id.
func (s *Subscriptions) Enable(ctx context.Context, id, actor string) (Subscription, error) {
	err := s.update(ctx, id, RecordEnabled, actor, "", true,
		`status = ?, disabled_reason = '', disabled_at = NULL, attempts = 0, next_attempt_at = NULL`, StatusActive)
	if err != nil {
		return Subscription{}, err
	}
	return s.Get(ctx, id)
}

// Disable stops deliveries to a subscription and records why.
// ENOTFOUND for an unknown id.
func (s *Subscriptions) Disable(ctx context.Context, id, actor, reason string) error {
	now := s.now()
	return s.update(ctx, id, RecordDisabled, actor, reason, true,
		`status = ?, disabled_reason = ?, disabled_at = ?`, StatusDisabled, reason, fmtTime(now))
}

// PauseOwnedBy disables every active subscription created by owner (whose
// token was revoked: its subscriptions must not keep delivering) and
// records why in each one's history. It returns the ids it paused.
func (s *Subscriptions) PauseOwnedBy(ctx context.Context, owner, actor, reason string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM webhook_subscriptions WHERE created_by = ? AND status = ? ORDER BY id`, owner, StatusActive)
	if err != nil {
		return nil, fmt.Errorf("webhooks: subscriptions of %s: %w", owner, err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("webhooks: subscriptions of %s: %w", owner, err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("webhooks: subscriptions of %s: %w", owner, err)
	}
	for _, id := range ids {
		if err := s.Disable(ctx, id, actor, reason); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// Redeliver moves the subscription's position so that delivery starts again
// at fromPosition (events before it are not sent again); a position beyond
// the failing event skips it. The retry schedule starts afresh. EINVALID for
// fromPosition < 1, ENOTFOUND for an unknown id.
func (s *Subscriptions) Redeliver(ctx context.Context, id, actor string, fromPosition int64) (Subscription, error) {
	if fromPosition < 1 {
		return Subscription{}, &domain.Error{Code: domain.EINVALID, Message: "invalid redelivery",
			Fields: []domain.FieldError{{Field: "from_position", Message: "must be a position >= 1"}}}
	}
	err := s.update(ctx, id, RecordRedelivery, actor, fmt.Sprintf("from position %d", fromPosition), true,
		`position = ?, attempts = 0, next_attempt_at = NULL`, fromPosition-1)
	if err != nil {
		return Subscription{}, err
	}
	return s.Get(ctx, id)
}

// update changes a subscription's row (set is the SET clause, args its
// arguments), bumps its generation if bump (which restarts its worker) and
// records the change, in one transaction.
func (s *Subscriptions) update(ctx context.Context, id, kind, actor, detail string, bump bool, set string, args ...any) error {
	now := s.now()
	if bump {
		set += `, generation = generation + 1`
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE webhook_subscriptions SET `+set+`,
			updated_at = ? WHERE id = ?`, append(args, fmtTime(now), id)...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return domain.Errorf(domain.ENOTFOUND, "no subscription with id %s", id)
		}
		return record(ctx, tx, id, now, kind, actor, detail)
	})
	if err != nil {
		return wrapErr(kind+" subscription "+id, err)
	}
	s.broadcast()
	return nil
}

// secrets returns the secrets that sign a delivery of subscription id made
// at now (see [Subscription.signingSecrets]); ErrStale if it was deleted.
func (s *Subscriptions) secrets(ctx context.Context, id string, now time.Time) ([]string, error) {
	var sub Subscription
	var prev, prevUntil sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT secret, previous_secret, previous_until FROM webhook_subscriptions
		WHERE id = ?`, id).Scan(&sub.secret, &prev, &prevUntil)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrStale
	}
	if err != nil {
		return nil, fmt.Errorf("webhooks: read the secrets of %s: %w", id, err)
	}
	if until := parseTimePtr(prevUntil); prev.Valid && until != nil {
		sub.previous, sub.previousUntil = prev.String, *until
	}
	return sub.signingSecrets(now), nil
}

// ErrStale is returned by the dispatcher's writes when the subscription was
// changed (or deleted) since the worker loaded it.
var ErrStale = errors.New("webhooks: subscription changed")

// advance stores position as handled for the generation gen of the
// subscription and clears its retry state. It returns ErrStale if the
// generation moved on.
func (s *Subscriptions) advance(ctx context.Context, id string, gen, position int64) error {
	res, err := s.db.ExecContext(ctx, `UPDATE webhook_subscriptions SET position = ?, attempts = 0,
		next_attempt_at = NULL WHERE id = ? AND generation = ? AND position < ?`, position, id, gen, position)
	if err != nil {
		return fmt.Errorf("webhooks: store position of %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return s.checkGeneration(ctx, id, gen)
	}
	return nil
}

func (s *Subscriptions) checkGeneration(ctx context.Context, id string, gen int64) error {
	var cur int64
	err := s.db.QueryRowContext(ctx, `SELECT generation FROM webhook_subscriptions WHERE id = ?`, id).Scan(&cur)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && cur != gen) {
		return ErrStale
	}
	return err
}

// attempted records one delivery attempt and the subscription's resulting
// state, in one transaction: on success the position moves to the event;
// on failure the attempt count and the next attempt time are stored; for
// outcomes gone and exhausted the subscription is disabled with reason.
// It returns ErrStale if the generation moved on (nothing is written then).
func (s *Subscriptions) attempted(ctx context.Context, sub *Subscription, d Delivery, reason string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var cur int64
		err := tx.QueryRowContext(ctx, `SELECT generation FROM webhook_subscriptions WHERE id = ?`, sub.ID).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && cur != sub.Generation) {
			return ErrStale
		}
		if err != nil {
			return err
		}
		var next any
		if d.NextRetryAt != nil {
			next = fmtTime(*d.NextRetryAt)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (subscription_id, event_id,
				position, event_type, attempt, at, status_code, latency_ms, error, outcome, next_retry_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, sub.ID, d.EventID, d.Position, d.Type, d.Attempt,
			fmtTime(d.At), d.StatusCode, d.LatencyMS, d.Error, d.Outcome, next); err != nil {
			return err
		}
		switch d.Outcome {
		case OutcomeDelivered:
			_, err = tx.ExecContext(ctx, `UPDATE webhook_subscriptions SET position = ?, attempts = 0,
				next_attempt_at = NULL WHERE id = ? AND position < ?`, d.Position, sub.ID, d.Position)
		case OutcomeFailed:
			_, err = tx.ExecContext(ctx, `UPDATE webhook_subscriptions SET attempts = ?, next_attempt_at = ?
				WHERE id = ?`, d.Attempt, next, sub.ID)
		default: // gone, exhausted: disable
			now := fmtTime(d.At)
			_, err = tx.ExecContext(ctx, `UPDATE webhook_subscriptions SET status = ?, disabled_reason = ?,
				disabled_at = ?, attempts = ?, next_attempt_at = NULL, generation = generation + 1,
				updated_at = ? WHERE id = ?`, StatusDisabled, reason, now, d.Attempt, now, sub.ID)
			if err == nil {
				err = record(ctx, tx, sub.ID, d.At, RecordDisabled, SystemActor, reason)
			}
		}
		if err != nil {
			return err
		}
		// Keep the newest keepDeliveries attempts.
		_, err = tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE subscription_id = ? AND id <=
			(SELECT id FROM webhook_deliveries WHERE subscription_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
			sub.ID, sub.ID, keepDeliveries)
		return err
	})
	if err != nil {
		return wrapErr("record delivery to "+sub.ID, err)
	}
	if d.Outcome == OutcomeGone || d.Outcome == OutcomeExhausted {
		s.broadcast()
	}
	return nil
}

// Deliveries returns the newest attempts for a subscription, newest first,
// at most limit (1 to 1000; 100 when 0). ENOTFOUND for an unknown id.
func (s *Subscriptions) Deliveries(ctx context.Context, id string, limit int) ([]Delivery, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, keepDeliveries)
	rows, err := s.db.QueryContext(ctx, `SELECT id, event_id, position, event_type, attempt, at, status_code,
		latency_ms, error, outcome, next_retry_at FROM webhook_deliveries WHERE subscription_id = ?
		ORDER BY id DESC LIMIT ?`, id, limit)
	if err != nil {
		return nil, fmt.Errorf("webhooks: deliveries of %s: %w", id, err)
	}
	defer rows.Close()
	out := []Delivery{}
	for rows.Next() {
		var d Delivery
		var at string
		var next sql.NullString
		if err := rows.Scan(&d.ID, &d.EventID, &d.Position, &d.Type, &d.Attempt, &at, &d.StatusCode,
			&d.LatencyMS, &d.Error, &d.Outcome, &next); err != nil {
			return nil, fmt.Errorf("webhooks: deliveries of %s: %w", id, err)
		}
		d.At, d.NextRetryAt = parseTime(at), parseTimePtr(next)
		out = append(out, d)
	}
	return out, rows.Err()
}

// History returns the records of a subscription (including a deleted one),
// oldest first.
func (s *Subscriptions) History(ctx context.Context, id string) ([]Record, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT at, kind, actor, detail FROM webhook_subscription_events
		WHERE subscription_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("webhooks: history of %s: %w", id, err)
	}
	defer rows.Close()
	out := []Record{}
	for rows.Next() {
		var r Record
		var at string
		if err := rows.Scan(&at, &r.Kind, &r.Actor, &r.Detail); err != nil {
			return nil, fmt.Errorf("webhooks: history of %s: %w", id, err)
		}
		r.At = parseTime(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

func record(ctx context.Context, tx *sql.Tx, id string, at time.Time, kind, actor, detail string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO webhook_subscription_events (subscription_id, at, kind, actor, detail)
		VALUES (?, ?, ?, ?, ?)`, id, fmtTime(at), kind, actor, detail)
	return err
}

func (s *Subscriptions) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// wrapErr keeps domain errors and the stale sentinel as they are and adds
// context to the others.
func wrapErr(op string, err error) error {
	var de *domain.Error
	if errors.As(err, &de) || errors.Is(err, ErrStale) {
		return err
	}
	return fmt.Errorf("webhooks: %s: %w", op, err)
}

// Times are stored as RFC 3339 with nanoseconds, UTC.
func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

func parseTimePtr(s sql.NullString) *time.Time {
	if !s.Valid {
		return nil
	}
	t := parseTime(s.String)
	return &t
}
