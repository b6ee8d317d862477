package reminders

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/projections"
)

// Log is the part of the event store reminders use (every eventstore.Store).
type Log interface {
	Append(ctx context.Context, stream string, expectedVersion int64, events []eventstore.Event) ([]eventstore.Event, error)
	ReadStream(ctx context.Context, stream string, fromVersion int64) ([]eventstore.Event, error)
	ReadAll(ctx context.Context, after int64, limit int) ([]eventstore.Event, error)
	Head(ctx context.Context) (position int64, hash string, err error)
}

// Index finds events by type, lists the recorded digests and waits for the
// read model (implemented by *projections.ReadModel).
type Index interface {
	EventPositions(ctx context.Context, f projections.EventFilter) (positions []int64, more bool, err error)
	WaitFor(ctx context.Context, position int64) error
	// Reminders lists the recorded digests, newest first (limit 0: all).
	Reminders(ctx context.Context, limit int) ([]projections.ReminderView, error)
}

// Owner is an owner role with its contacts. InUse says whether anything in
// the register (a party, requirement, objective or communication plan
// entry) names it.
type Owner struct {
	Name      string     `json:"name"`
	Emails    []string   `json:"emails"`
	InUse     bool       `json:"in_use"`
	UpdatedAt *time.Time `json:"updated_at"`
	UpdatedBy string     `json:"updated_by,omitempty"`
}

// Contacts stores and lists owner contacts. It is safe for concurrent use.
type Contacts struct {
	Log   Log
	Index Index
	Now   func() time.Time
}

func (c *Contacts) now() time.Time {
	if c.Now != nil {
		return c.Now().UTC()
	}
	return time.Now().UTC()
}

// ParseEmails parses what a user typed with net/mail and returns the bare
// addresses, or an EINVALID *domain.Error naming each bad entry.
func ParseEmails(in []string) ([]string, error) {
	var bad []domain.FieldError
	out := make([]string, 0, len(in))
	for i, s := range in {
		a, err := mail.ParseAddress(strings.TrimSpace(s))
		if err != nil {
			bad = append(bad, domain.FieldError{Field: "emails[" + strconv.Itoa(i) + "]",
				Message: fmt.Sprintf("must be an e-mail address (%v)", err)})
			continue
		}
		out = append(out, a.Address)
	}
	if len(bad) > 0 {
		return nil, &domain.Error{Code: domain.EINVALID, Message: "invalid input", Fields: bad}
	}
	return out, nil
}

// Set replaces the e-mail addresses of owner. It appends owner.contacts_set
// to the owner's stream with its current version as the expected one (a
// concurrent change answers ECONFLICT) and waits for the read model. It
// returns EINVALID for a bad owner name or address, and writes nothing then.
func (c *Contacts) Set(ctx context.Context, owner string, emails []string, meta domain.Meta) (Owner, error) {
	parsed, err := ParseEmails(emails)
	if err != nil {
		return Owner{}, err
	}
	cur, version, err := c.current(ctx, owner)
	if err != nil {
		return Owner{}, err
	}
	evs, err := domain.DecideOwnerContacts(cur.Emails, domain.SetOwnerContacts{Owner: owner, Emails: parsed, Meta: meta})
	if err != nil {
		return Owner{}, err
	}
	if len(evs) == 0 {
		if cur.Name == "" {
			cur.Name = strings.TrimSpace(owner)
		}
		return cur, nil
	}
	e := evs[0].(domain.OwnerContactsSet)
	if cur.Name != "" {
		e.Owner = cur.Name // keep the spelling first recorded
	}
	stored, err := appendEvents(ctx, c.Log, domain.OwnerStream(owner), version, meta, c.now(), e)
	if err != nil {
		return Owner{}, err
	}
	last := stored[len(stored)-1]
	if err := c.Index.WaitFor(ctx, last.Position); err != nil {
		return Owner{}, fmt.Errorf("owner contacts stored at position %d, read model behind: %w", last.Position, err)
	}
	at := last.Time
	return Owner{Name: e.Owner, Emails: e.Emails, UpdatedAt: &at, UpdatedBy: last.Actor}, nil
}

// current folds the owner's stream.
func (c *Contacts) current(ctx context.Context, owner string) (Owner, int64, error) {
	if strings.TrimSpace(owner) == "" {
		return Owner{}, 0, &domain.Error{Code: domain.EINVALID, Message: "invalid input",
			Fields: []domain.FieldError{{Field: "owner", Message: "is required"}}}
	}
	stored, err := c.Log.ReadStream(ctx, domain.OwnerStream(owner), 1)
	if err != nil {
		return Owner{}, 0, fmt.Errorf("read owner %q: %w", owner, err)
	}
	o := Owner{Emails: []string{}}
	var v int64
	for _, ev := range stored {
		v = ev.Version
		if err := o.apply(ev); err != nil {
			return Owner{}, 0, err
		}
	}
	return o, v, nil
}

func (o *Owner) apply(ev eventstore.Event) error {
	if ev.Type != domain.EventOwnerContactsSet {
		return nil
	}
	de, err := domain.Decode(ev.Type, ev.Schema, ev.Data)
	if err != nil {
		return fmt.Errorf("owner contacts at position %d: %w", ev.Position, err)
	}
	e := de.(domain.OwnerContactsSet)
	at := ev.Time
	o.Name, o.Emails, o.UpdatedAt, o.UpdatedBy = e.Owner, e.Emails, &at, ev.Actor
	if o.Emails == nil {
		o.Emails = []string{}
	}
	return nil
}

// Recorded returns every owner with contacts recorded in the log, keyed by
// [domain.OwnerKey]. It reads the positions from the audit index and the
// events from the log.
func (c *Contacts) Recorded(ctx context.Context) (map[string]Owner, error) {
	evs, err := eventsOfType(ctx, c.Log, c.Index, domain.EventOwnerContactsSet, 0)
	if err != nil {
		return nil, err
	}
	out := map[string]Owner{}
	for _, ev := range evs {
		var o Owner
		if err := o.apply(ev); err != nil {
			return nil, err
		}
		out[domain.OwnerKey(o.Name)] = o
	}
	return out, nil
}

// List returns the owners with contacts and the owner names in use without
// any (so the gaps are visible), in name order. names are the owner names
// the register uses.
func (c *Contacts) List(ctx context.Context, names []string) ([]Owner, error) {
	rec, err := c.Recorded(ctx)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		k := domain.OwnerKey(n)
		o, ok := rec[k]
		if !ok {
			o = Owner{Name: n, Emails: []string{}}
		}
		o.InUse = true
		rec[k] = o
	}
	out := make([]Owner, 0, len(rec))
	for _, o := range rec {
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b Owner) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	return out, nil
}

// eventsOfType returns the events of type typ after position after, through
// the audit index, once the read model has applied the whole log.
func eventsOfType(ctx context.Context, log Log, idx Index, typ string, after int64) ([]eventstore.Event, error) {
	head, _, err := log.Head(ctx)
	if err != nil {
		return nil, fmt.Errorf("read head: %w", err)
	}
	if err := idx.WaitFor(ctx, head); err != nil {
		return nil, fmt.Errorf("wait for read model: %w", err)
	}
	var out []eventstore.Event
	for {
		pos, more, err := idx.EventPositions(ctx, projections.EventFilter{Type: typ, After: after, Limit: projections.MaxEventLimit})
		if err != nil {
			return nil, fmt.Errorf("find %s events: %w", typ, err)
		}
		for _, p := range pos {
			evs, err := log.ReadAll(ctx, p-1, 1)
			if err != nil {
				return nil, fmt.Errorf("read event at %d: %w", p, err)
			}
			if len(evs) == 1 && evs[0].Position == p {
				out = append(out, evs[0])
			}
			after = p
		}
		if !more || len(pos) == 0 {
			return out, nil
		}
	}
}

// appendEvents wraps domain events in envelopes and appends them. A
// conflict becomes an ECONFLICT *domain.Error wrapping the store's error.
func appendEvents(ctx context.Context, log Log, stream string, expected int64, meta domain.Meta, now time.Time, des ...domain.Event) ([]eventstore.Event, error) {
	envs := make([]eventstore.Event, 0, len(des))
	corr := meta.CorrelationID
	for _, de := range des {
		data, err := jsonMarshal(de)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", de.EventType(), err)
		}
		id := uuid.Must(uuid.NewV7()).String()
		if corr == "" {
			corr = id
		}
		envs = append(envs, eventstore.Event{ID: id, Type: de.EventType(), Schema: domain.CurrentSchema, Time: now,
			Actor: meta.Actor, Reason: meta.Reason, Trigger: meta.TriggerOrDefault(), CorrelationID: corr,
			CausationID: meta.CausationID, Data: data})
	}
	stored, err := log.Append(ctx, stream, expected, envs)
	if err != nil {
		var ce *eventstore.ConflictError
		if errors.As(err, &ce) {
			return nil, &domain.Error{Code: domain.ECONFLICT, Err: err,
				Message: fmt.Sprintf("%s was changed concurrently: expected version %d, actual %d", stream, ce.Expected, ce.Actual)}
		}
		return nil, fmt.Errorf("append %s: %w", stream, err)
	}
	return stored, nil
}
