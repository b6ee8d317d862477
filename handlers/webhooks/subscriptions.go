package webhooks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
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

// Subscriptions keeps webhook subscriptions, their delivery attempts and
// their history in a storage: tables of a SQLite database with the SQLite
// event log ([NewSubscriptions]), or JetStream key-value buckets shared by
// every replica with the NATS one ([NewKVSubscriptions]). The API handlers
// and the [Dispatcher] see the same methods either way. It is safe for
// concurrent use.
//
// Errors: methods return a *domain.Error with code ENOTFOUND for an unknown
// id and EINVALID for bad input; anything else is an internal error.
type Subscriptions struct {
	store storage
	guard *Guard
	log   Head
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	changed chan struct{}
}

// storage is where [Subscriptions] keep their state: the seam between the
// rules (validation, secrets, generations) and the SQLite tables or the
// shared buckets.
type storage interface {
	// count returns how many subscriptions exist.
	count(ctx context.Context) (int, error)
	// insert stores a new subscription (secrets included) and its
	// history records.
	insert(ctx context.Context, sub Subscription, recs ...Record) error
	// get returns one subscription with its secrets, or ENOTFOUND.
	get(ctx context.Context, id string) (Subscription, error)
	// list returns every subscription, oldest first.
	list(ctx context.Context) ([]Subscription, error)
	// remove deletes a subscription and its delivery attempts and appends
	// rec to its history; ENOTFOUND for an unknown id.
	remove(ctx context.Context, id string, rec Record) error
	// modify reads a subscription, lets fn change it and stores the result
	// with rec (if not nil) appended to its history and d (if not nil) to
	// its attempts, as one change: concurrent modifications are applied
	// one after the other (a transaction, or compare-and-set on the key's
	// revision, calling fn again). An error of fn writes nothing and is
	// returned, except errUnchanged (nothing written, nil returned).
	// ENOTFOUND for an unknown id.
	modify(ctx context.Context, id string, fn func(*Subscription) error, rec *Record, d *Delivery) error
	// deliveries returns the newest attempts, newest first, at most limit.
	deliveries(ctx context.Context, id string, limit int) ([]Delivery, error)
	// history returns the records of a subscription, oldest first.
	history(ctx context.Context, id string) ([]Record, error)
}

// watcher is a storage that others change too (the shared buckets): watch
// calls notify after each change of a subscription's existence, status or
// generation, until ctx ends.
type watcher interface {
	watch(ctx context.Context, notify func())
}

// errUnchanged, returned by a modify function, means there is nothing to
// write.
var errUnchanged = errors.New("webhooks: unchanged")

// NewSubscriptions keeps subscriptions in tables of db, created if needed.
// guard checks URLs at registration; log gives the position new
// subscriptions start after (they hear of events appended after their
// creation).
func NewSubscriptions(ctx context.Context, db *sql.DB, guard *Guard, log Head) (*Subscriptions, error) {
	st, err := openSQLiteStorage(ctx, db)
	if err != nil {
		return nil, err
	}
	return newSubscriptions(st, guard, log), nil
}

func newSubscriptions(st storage, guard *Guard, log Head) *Subscriptions {
	if guard == nil {
		guard = &Guard{}
	}
	return &Subscriptions{store: st, guard: guard, log: log, changed: make(chan struct{})}
}

func (s *Subscriptions) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Changed returns a channel that is closed at the next change made through
// this Subscriptions (create, delete, rotate, enable, disable, redeliver)
// or, on shared buckets, by another replica while [Subscriptions.Watch]
// runs. The [Dispatcher] also re-reads the subscriptions periodically.
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

// Watch signals on [Subscriptions.Changed] the subscriptions created,
// deleted, enabled, disabled or redirected by other replicas, until ctx
// ends. On a storage only this process changes (SQLite) it just waits for
// ctx. The [Dispatcher] runs it.
func (s *Subscriptions) Watch(ctx context.Context) {
	if w, ok := s.store.(watcher); ok {
		w.watch(ctx, s.broadcast)
		return
	}
	<-ctx.Done()
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
	count, err := s.store.count(ctx)
	if err != nil {
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
	rec := Record{At: now, Kind: RecordCreated, Actor: n.Actor, Detail: fmt.Sprintf("url %s, starting after position %d", sub.URL, head)}
	if err := s.store.insert(ctx, sub, rec); err != nil {
		return Subscription{}, "", fmt.Errorf("webhooks: create subscription: %w", err)
	}
	s.broadcast()
	return sub, secret, nil
}

// Adopt copies every subscription of from (secrets, position, retry state
// and history; not the attempt records) into s if s has none yet, and
// returns how many it copied: when serve moves to the shared buckets, the
// subscriptions that one replica kept in its local database carry on.
// Replicas adopting at once may each copy theirs (ids never collide).
func (s *Subscriptions) Adopt(ctx context.Context, from *Subscriptions) (int, error) {
	n, err := s.store.count(ctx)
	if err != nil || n > 0 {
		return 0, err
	}
	subs, err := from.store.list(ctx)
	if err != nil {
		return 0, fmt.Errorf("webhooks: adopt subscriptions: %w", err)
	}
	for i, sub := range subs {
		hist, err := from.store.history(ctx, sub.ID)
		if err == nil {
			err = s.store.insert(ctx, sub, hist...)
		}
		if err != nil {
			return i, fmt.Errorf("webhooks: adopt subscription %s: %w", sub.ID, err)
		}
	}
	if len(subs) > 0 {
		s.broadcast()
	}
	return len(subs), nil
}

// Get returns one subscription, or ENOTFOUND.
func (s *Subscriptions) Get(ctx context.Context, id string) (Subscription, error) {
	sub, err := s.store.get(ctx, id)
	if err != nil {
		return Subscription{}, wrapErr("get subscription "+id, err)
	}
	return sub, nil
}

// List returns every subscription, oldest first.
func (s *Subscriptions) List(ctx context.Context) ([]Subscription, error) {
	out, err := s.store.list(ctx)
	if err != nil {
		return nil, fmt.Errorf("webhooks: list subscriptions: %w", err)
	}
	return out, nil
}

// Delete removes a subscription and its delivery records; its history
// records stay, with a final "deleted" record. ENOTFOUND for an unknown id.
func (s *Subscriptions) Delete(ctx context.Context, id, actor string) error {
	if err := s.store.remove(ctx, id, Record{At: s.now(), Kind: RecordDeleted, Actor: actor}); err != nil {
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
	until := now.Add(SecretGrace)
	// The generation stays: the dispatcher reads the secrets before each
	// attempt, so a rotation does not interrupt a delivery.
	err = s.update(ctx, id, RecordRotated, actor, fmt.Sprintf("the previous secret also signs until %s", fmtTime(until)), false,
		func(sub *Subscription) {
			sub.previous, sub.previousUntil, sub.secret = sub.secret, until, secret
		})
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
	err := s.update(ctx, id, RecordEnabled, actor, "", true, func(sub *Subscription) {
		sub.Status, sub.DisabledReason, sub.DisabledAt = StatusActive, "", nil
		sub.FailedAttempts, sub.NextAttemptAt = 0, nil
	})
	if err != nil {
		return Subscription{}, err
	}
	return s.Get(ctx, id)
}

// Disable stops deliveries to a subscription and records why.
// ENOTFOUND for an unknown id.
func (s *Subscriptions) Disable(ctx context.Context, id, actor, reason string) error {
	now := s.now()
	return s.update(ctx, id, RecordDisabled, actor, reason, true, func(sub *Subscription) {
		sub.Status, sub.DisabledReason, sub.DisabledAt = StatusDisabled, reason, &now
	})
}

// PauseOwnedBy disables every active subscription created by owner (whose
// token was revoked: its subscriptions must not keep delivering) and
// records why in each one's history. It returns the ids it paused.
func (s *Subscriptions) PauseOwnedBy(ctx context.Context, owner, actor, reason string) ([]string, error) {
	all, err := s.store.list(ctx)
	if err != nil {
		return nil, fmt.Errorf("webhooks: subscriptions of %s: %w", owner, err)
	}
	var ids []string
	for _, sub := range all {
		if sub.CreatedBy == owner && sub.Status == StatusActive {
			ids = append(ids, sub.ID)
		}
	}
	slices.Sort(ids)
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
	err := s.update(ctx, id, RecordRedelivery, actor, fmt.Sprintf("from position %d", fromPosition), true, func(sub *Subscription) {
		sub.Position, sub.FailedAttempts, sub.NextAttemptAt = fromPosition-1, 0, nil
	})
	if err != nil {
		return Subscription{}, err
	}
	return s.Get(ctx, id)
}

// update changes a subscription with set, bumps its generation if bump
// (which restarts its worker) and records the change, as one change.
func (s *Subscriptions) update(ctx context.Context, id, kind, actor, detail string, bump bool, set func(*Subscription)) error {
	now := s.now()
	err := s.store.modify(ctx, id, func(sub *Subscription) error {
		set(sub)
		if bump {
			sub.Generation++
		}
		sub.UpdatedAt = now
		return nil
	}, &Record{At: now, Kind: kind, Actor: actor, Detail: detail}, nil)
	if err != nil {
		return wrapErr(kind+" subscription "+id, err)
	}
	s.broadcast()
	return nil
}

// secrets returns the secrets that sign a delivery of subscription id made
// at now (see [Subscription.signingSecrets]); ErrStale if it was deleted.
func (s *Subscriptions) secrets(ctx context.Context, id string, now time.Time) ([]string, error) {
	sub, err := s.store.get(ctx, id)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return nil, ErrStale
	}
	if err != nil {
		return nil, fmt.Errorf("webhooks: read the secrets of %s: %w", id, err)
	}
	return sub.signingSecrets(now), nil
}

// ErrStale is returned by the dispatcher's writes when the subscription was
// changed (or deleted) since the worker loaded it.
var ErrStale = errors.New("webhooks: subscription changed")

// stale maps a vanished subscription to ErrStale.
func stale(err error) error {
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return ErrStale
	}
	return err
}

// advance stores position as handled for the generation gen of the
// subscription and clears its retry state. It never moves the position
// backwards (another replica's late write loses), and returns ErrStale if
// the generation moved on.
func (s *Subscriptions) advance(ctx context.Context, id string, gen, position int64) error {
	err := s.store.modify(ctx, id, func(sub *Subscription) error {
		if sub.Generation != gen {
			return ErrStale
		}
		if sub.Position >= position {
			return errUnchanged
		}
		sub.Position, sub.FailedAttempts, sub.NextAttemptAt = position, 0, nil
		return nil
	}, nil, nil)
	if err != nil {
		return wrapErr("store position of "+id, stale(err))
	}
	return nil
}

// attempted records one delivery attempt and the subscription's resulting
// state, as one change: on success the position moves to the event (never
// backwards); on failure the attempt count and the next attempt time are
// stored; for outcomes gone and exhausted the subscription is disabled with
// reason. It returns ErrStale if the generation moved on (nothing is
// written then).
func (s *Subscriptions) attempted(ctx context.Context, sub *Subscription, d Delivery, reason string) error {
	var rec *Record
	if d.Outcome == OutcomeGone || d.Outcome == OutcomeExhausted {
		rec = &Record{At: d.At, Kind: RecordDisabled, Actor: SystemActor, Detail: reason}
	}
	err := s.store.modify(ctx, sub.ID, func(cur *Subscription) error {
		if cur.Generation != sub.Generation {
			return ErrStale
		}
		switch d.Outcome {
		case OutcomeDelivered:
			if cur.Position < d.Position {
				cur.Position, cur.FailedAttempts, cur.NextAttemptAt = d.Position, 0, nil
			}
		case OutcomeFailed:
			cur.FailedAttempts, cur.NextAttemptAt = d.Attempt, d.NextRetryAt
		default: // gone, exhausted: disable
			at := d.At
			cur.Status, cur.DisabledReason, cur.DisabledAt = StatusDisabled, reason, &at
			cur.FailedAttempts, cur.NextAttemptAt = d.Attempt, nil
			cur.Generation++
			cur.UpdatedAt = d.At
		}
		return nil
	}, rec, &d)
	if err != nil {
		return wrapErr("record delivery to "+sub.ID, stale(err))
	}
	if d.Outcome == OutcomeGone || d.Outcome == OutcomeExhausted {
		s.broadcast()
	}
	return nil
}

// Deliveries returns the newest attempts for a subscription, newest first,
// at most limit (1 to 1000; 100 when 0; the shared buckets keep the newest
// [KVKeepDeliveries]). ENOTFOUND for an unknown id.
func (s *Subscriptions) Deliveries(ctx context.Context, id string, limit int) ([]Delivery, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, keepDeliveries)
	out, err := s.store.deliveries(ctx, id, limit)
	if err != nil {
		return nil, fmt.Errorf("webhooks: deliveries of %s: %w", id, err)
	}
	return out, nil
}

// History returns the records of a subscription (including a deleted one),
// oldest first.
func (s *Subscriptions) History(ctx context.Context, id string) ([]Record, error) {
	out, err := s.store.history(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("webhooks: history of %s: %w", id, err)
	}
	return out, nil
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
