package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// Aggregate is the one interface of a folded aggregate: it applies the
// events of its stream, oldest first. Apply never fails (events are
// facts). *domain.Party, *domain.Objective, ... implement it.
type Aggregate interface {
	Apply(domain.Event)
}

// part is one stream's share of a command's atomic append.
type part struct {
	stream   string
	expected int64
	events   []domain.Event
	// metas, when not nil, holds each event's own actor, reason and
	// trigger (an import's rows); nil means the command's meta.
	metas []domain.Meta
}

// command describes one command on an aggregate of type A for [execute].
// Adding an aggregate costs a few lines: a method per command that fills
// this in. For example:
//
//	func (s *Service) DrawRelationship(ctx context.Context, cmd domain.DrawRelationship) (Result, error) {
//		return execute(ctx, s, command[domain.Relationship]{
//			stream: cmd.RelationshipID.Stream(), meta: cmd.Meta, fresh: true,
//			decide: func(r *domain.Relationship, now time.Time) ([]domain.Event, error) { return r.Draw(cmd, now) },
//		})
//	}
type command[A any] struct {
	stream string
	meta   domain.Meta
	// ifMatch, when not nil, is the version the caller last saw (HTTP
	// If-Match); a different current version fails with EPRECONDITION.
	ifMatch *int64
	// fresh marks a command that creates its stream under a new id: the
	// stream is not read, and the append expects it to be empty.
	fresh bool
	// exists, when set, reports whether the folded aggregate exists;
	// notFound is then the error for one that does not.
	exists   func(*A) bool
	notFound func() error
	// decide is the domain decision on the folded state. It must not
	// change the state.
	decide func(a *A, now time.Time) ([]domain.Event, error)
	// also, when set, returns further parts to append atomically with the
	// decided events (name reservations). It runs after decide, only when
	// decide returned events.
	also func(ctx context.Context, a *A, events []domain.Event) ([]part, error)
	// answer, when set, is given a private copy of the state right after
	// the command (the state decided on with the command's own events
	// folded in; the state as it is when the command changed nothing) and
	// stores what the caller needs of it in res. clone makes that copy.
	clone  func(*A) *A
	answer func(a *A, res *Result)
}

// execute is the one command pipeline: load the aggregate from the fold
// cache (reading only the events after the cached version), decide, append
// the events (and any other parts) atomically with the version decided on
// as the expected one, update the cache, and wait for the read model.
//
// The entry's lock is held while catching up and deciding only, never
// across the append: commands on different streams never wait for each
// other, and two commands on one stream that decided on the same version
// meet at the store, which lets one through and refuses the other with a
// conflict (ECONFLICT, or EPRECONDITION under If-Match).
func execute[A any, PA interface {
	*A
	Aggregate
}](ctx context.Context, s *Service, c command[A]) (Result, error) {
	res := Result{Stream: c.stream}
	e := s.cache().entry(c.stream)
	e.mu.Lock()
	state, _ := e.state.(PA)
	var version int64
	switch {
	case c.fresh && state != nil:
		// A new stream under an id this cache knows: decide on an empty
		// state, so that the store reports the clash as a version
		// conflict, as it would in a process that never saw the stream.
		state = PA(new(A))
	case c.fresh:
		state, e.version, e.folded = PA(new(A)), 0, 0
		e.state = state
	default:
		if state == nil {
			state, e.version, e.folded = PA(new(A)), 0, 0
			e.state = state
		}
		if err := s.catchUp(ctx, e, state); err != nil {
			e.mu.Unlock()
			return res, err
		}
		version = e.version
	}
	if c.exists != nil && !c.exists((*A)(state)) {
		e.mu.Unlock()
		return res, c.notFound()
	}
	if c.ifMatch != nil && *c.ifMatch != version {
		e.mu.Unlock()
		return res, &domain.Error{Code: domain.EPRECONDITION,
			Message: fmt.Sprintf("%s is at version %d, not %d as the request expected", c.stream, version, *c.ifMatch),
			Err:     &eventstore.ConflictError{Stream: c.stream, Expected: *c.ifMatch, Actual: version}}
	}
	now := s.now()
	if err := c.meta.CheckEffectiveOn(now); err != nil {
		e.mu.Unlock()
		return res, err // also when the command would change nothing
	}
	events, err := c.decide((*A)(state), now)
	var parts []part
	if err == nil && len(events) > 0 && c.also != nil {
		parts, err = c.also(ctx, (*A)(state), events)
	}
	var mineOnly PA // the state decided on, for the answer
	if err == nil && c.answer != nil {
		mineOnly = PA(c.clone((*A)(state)))
	}
	e.mu.Unlock()
	res.Version = version
	if err != nil {
		return res, err
	}
	if len(events) == 0 {
		if mineOnly != nil {
			c.answer((*A)(mineOnly), &res)
		}
		return res, nil
	}

	parts = append([]part{{stream: c.stream, expected: version, events: events}}, parts...)
	stored, err := s.commit(ctx, c.meta, now, parts)
	if err != nil {
		var de *domain.Error
		if c.ifMatch != nil && errors.As(err, &de) && de.Code == domain.ECONFLICT && conflictOn(err, c.stream) {
			// The version the caller named was current when we loaded it,
			// but another write landed before ours: the precondition failed.
			de.Code = domain.EPRECONDITION
		}
		return res, err
	}

	// Fold what was stored, unless another command moved the entry on
	// meanwhile (then the next command reads the tail as usual).
	mine := stored[0]
	e.mu.Lock()
	if e.state == any(state) && e.version == version {
		if err := fold(state, mine, &e.version, &e.folded); err != nil {
			e.state = nil // cannot happen for events we just encoded; start again next time
		}
	}
	size := e.folded
	e.mu.Unlock()
	s.cache().resize(e, size)

	last := mine[len(mine)-1]
	res.Events, res.Version, res.Position = mine, last.Version, stored[len(stored)-1][len(stored[len(stored)-1])-1].Position
	if mineOnly != nil {
		// Folded apart from the cache entry, which other commands may have
		// moved on meanwhile: this is the state right after this command.
		v, sz := version, int64(0)
		if err := fold(mineOnly, mine, &v, &sz); err != nil {
			return res, err
		}
		c.answer((*A)(mineOnly), &res)
	}
	return res, s.wait(ctx, c.stream, res.Position)
}

// catchUp folds the events of e's stream after e.version into state. The
// caller holds e.mu.
func (s *Service) catchUp(ctx context.Context, e *cacheEntry, state Aggregate) error {
	tail, err := s.Store.ReadStream(ctx, e.stream, e.version+1)
	if err != nil {
		return fmt.Errorf("load %s: %w", e.stream, err)
	}
	if err := fold(state, tail, &e.version, &e.folded); err != nil {
		e.state = nil // half folded: do not keep it
		return err
	}
	if len(tail) > 0 {
		s.cache().resize(e, e.folded)
	}
	return nil
}

// fold applies stored events to state, advancing *version and *size.
func fold(state Aggregate, evs []eventstore.Event, version, size *int64) error {
	for _, ev := range evs {
		if ev.Version != *version+1 {
			return fmt.Errorf("load %s: version %d follows %d", ev.Stream, ev.Version, *version)
		}
		de, err := domain.Decode(ev.Type, ev.Schema, ev.Data)
		if err != nil {
			return fmt.Errorf("load %s at version %d: %w", ev.Stream, ev.Version, err)
		}
		state.Apply(de)
		if st, ok := state.(stamper); ok {
			st.stamp(&ev, de)
		}
		*version = ev.Version
		*size += eventSize(ev)
	}
	return nil
}

// commit wraps the parts' domain events in envelopes (id, time, actor,
// reason, trigger, correlation, effective date) and appends them in one atomic append. It
// returns the stored events of each part.
func (s *Service) commit(ctx context.Context, meta domain.Meta, now time.Time, parts []part) ([][]eventstore.Event, error) {
	if err := meta.CheckEffectiveOn(now); err != nil {
		return nil, err
	}
	if limit := eventstore.MaxAppend(s.Store); limit > 0 {
		total := 0
		for _, p := range parts {
			total += len(p.events)
		}
		if total > limit {
			return nil, &domain.Error{Code: domain.EINVALID, Message: fmt.Sprintf(
				"this change is %d events, and the event store (NATS JetStream) appends at most %d atomically; nothing was written: split it (an import: fewer parties per file, about %d rows of one requirement each)",
				total, limit, limit/3)}
		}
	}
	corr := meta.CorrelationID
	appends := make([]eventstore.StreamAppend, len(parts))
	for i, p := range parts {
		envs := make([]eventstore.Event, 0, len(p.events))
		for k, de := range p.events {
			m := meta
			if p.metas != nil {
				m = p.metas[k]
			}
			data, err := json.Marshal(de)
			if err != nil {
				return nil, fmt.Errorf("encode %s: %w", de.EventType(), err)
			}
			id := newID()
			if corr == "" {
				corr = id
			}
			envs = append(envs, eventstore.Event{ID: id, Type: de.EventType(), Schema: domain.CurrentSchema,
				Time: now, Actor: m.Actor, Reason: m.Reason, Trigger: m.TriggerOrDefault(),
				CorrelationID: corr, CausationID: m.CausationID, EffectiveOn: m.EffectiveOn, Data: data})
		}
		appends[i] = eventstore.StreamAppend{Stream: p.stream, ExpectedVersion: p.expected, Events: envs}
	}
	var stored [][]eventstore.Event
	var err error
	if len(appends) == 1 {
		var evs []eventstore.Event
		evs, err = s.Store.Append(ctx, appends[0].Stream, appends[0].ExpectedVersion, appends[0].Events)
		stored = [][]eventstore.Event{evs}
	} else {
		stored, err = s.Store.AppendStreams(ctx, appends)
	}
	if err != nil {
		var ce *eventstore.ConflictError
		if errors.As(err, &ce) {
			if strings.HasPrefix(ce.Stream, domain.RelationshipKeyStreamPrefix) {
				return nil, &domain.Error{Code: domain.ECONFLICT, Err: err,
					Message: "an active relationship with the same parties and kind already exists",
					Fields:  []domain.FieldError{{Field: "kind", Message: "was claimed by another relationship at the same time"}}}
			}
			if strings.HasPrefix(ce.Stream, domain.ReservationStreamPrefix) {
				return nil, &domain.Error{Code: domain.ECONFLICT, Err: err,
					Message: "an active party with this name already exists",
					Fields:  []domain.FieldError{{Field: "name", Message: "was claimed by another party at the same time"}}}
			}
			return nil, &domain.Error{Code: domain.ECONFLICT, Err: err,
				Message: fmt.Sprintf("%s was changed concurrently: expected version %d, actual %d", ce.Stream, ce.Expected, ce.Actual)}
		}
		return nil, fmt.Errorf("append %s: %w", parts[0].stream, err)
	}
	return stored, nil
}

// conflictOn reports whether err is a version conflict on stream.
func conflictOn(err error, stream string) bool {
	var ce *eventstore.ConflictError
	return errors.As(err, &ce) && ce.Stream == stream
}

// DefaultWaitTimeout bounds how long a command waits for the read model to
// apply what it appended.
const DefaultWaitTimeout = 10 * time.Second

// ErrReadModelBehind is matched by the error of a command whose events
// were stored but which gave up waiting for the read model to show them.
// It also matches [eventstore.ErrUnavailable]: the HTTP API answers 503
// with Retry-After.
var ErrReadModelBehind = fmt.Errorf("%w: the read model is behind the log", eventstore.ErrUnavailable)

// wait waits, within the service's wait timeout, until the read model has
// applied position.
func (s *Service) wait(ctx context.Context, stream string, position int64) error {
	if err := s.waitFor(ctx, position); err != nil {
		return fmt.Errorf("append %s: stored at position %d, but %w", stream, position, err)
	}
	return nil
}

// waitFor is Reads.WaitFor with a deadline: an error matching
// [ErrReadModelBehind] when it passes.
func (s *Service) waitFor(ctx context.Context, position int64) error {
	d := s.WaitTimeout
	if d <= 0 {
		d = DefaultWaitTimeout
	}
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	err := s.Reads.WaitFor(wctx, position)
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: position %d not applied within %s: %w", ErrReadModelBehind, position, d, err)
	}
	return err
}
