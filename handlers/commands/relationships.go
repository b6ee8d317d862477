package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/partyledger/partyledger/domain"
)

// RelationshipReads is what the relationship commands need from the read
// model beyond [ReadModel]: the active relationship with given ends and
// kind. *projections.ReadModel implements it; the Service finds it on its
// Reads field, so that wiring needs no new field.
type RelationshipReads interface {
	ActiveRelationship(ctx context.Context, from, to, kind string) (id string, ok bool, err error)
}

// EstablishRelationship records a relationship between two parties. The
// command's RelationshipID is set here if empty. Unknown parties fail with
// ENOTFOUND, retired ones and other bad input with EINVALID, a second active
// relationship with the same (from, to, kind) with ECONFLICT. The key
// (from, to, kind) is claimed in the same atomic append (see
// [domain.RelationshipKeyStream]), so the rule holds across processes.
func (s *Service) EstablishRelationship(ctx context.Context, cmd domain.EstablishRelationship) (Result, error) {
	if cmd.RelationshipID == "" {
		cmd.RelationshipID = domain.RelationshipID(newID())
	}
	return execute(ctx, s, command[domain.Relationship]{
		stream: cmd.RelationshipID.Stream(), meta: cmd.Meta, fresh: true,
		decide: func(r *domain.Relationship, now time.Time) ([]domain.Event, error) {
			dir, err := s.relationshipDirectory(ctx, []domain.PartyID{cmd.FromPartyID, cmd.ToPartyID},
				cmd.FromPartyID, cmd.ToPartyID, cmd.Kind)
			if err != nil {
				return nil, err
			}
			return r.Establish(cmd, dir, now)
		},
		also: s.relationshipKeys,
	})
}

// ReviseRelationship changes a relationship's kind, label or description.
// ifMatch, when not nil, is the version the caller last saw. A new kind
// releases the old key and claims the new one in the same atomic append.
func (s *Service) ReviseRelationship(ctx context.Context, cmd domain.ReviseRelationship, ifMatch *int64) (Result, error) {
	return s.onRelationship(ctx, cmd.RelationshipID, ifMatch, cmd.Meta, func(r *domain.Relationship, now time.Time) ([]domain.Event, error) {
		kind := r.Kind
		if cmd.Kind != nil {
			kind = *cmd.Kind
		}
		dir, err := s.relationshipDirectory(ctx, []domain.PartyID{r.From, r.To}, r.From, r.To, kind)
		if err != nil {
			return nil, err
		}
		return r.Revise(cmd, dir, now)
	})
}

// EndRelationship records that a relationship no longer holds, and
// releases its key.
func (s *Service) EndRelationship(ctx context.Context, cmd domain.EndRelationship, ifMatch *int64) (Result, error) {
	return s.onRelationship(ctx, cmd.RelationshipID, ifMatch, cmd.Meta, func(r *domain.Relationship, now time.Time) ([]domain.Event, error) {
		return r.End(cmd, now)
	})
}

func relationshipNotFound(id domain.RelationshipID) func() error {
	return func() error { return domain.Errorf(domain.ENOTFOUND, "no relationship %s", id) }
}

// onRelationship runs a decision on an existing relationship through
// [execute], with its key reservations.
func (s *Service) onRelationship(ctx context.Context, id domain.RelationshipID, ifMatch *int64, meta domain.Meta,
	decide func(*domain.Relationship, time.Time) ([]domain.Event, error)) (Result, error) {
	if !domain.ValidID(string(id)) {
		return Result{}, relationshipNotFound(id)()
	}
	return execute(ctx, s, command[domain.Relationship]{
		stream: id.Stream(), meta: meta, ifMatch: ifMatch,
		exists: (*domain.Relationship).Exists, notFound: relationshipNotFound(id),
		decide: decide, also: s.relationshipKeys,
	})
}

// relationshipKeys returns the key claims and releases that go with a
// relationship's events: establishing claims (from, to, kind); a new kind
// releases the old key (when this relationship holds it) and claims the
// new one; ending releases the key. A key another relationship holds fails
// with ECONFLICT. The key streams are read here and appended at the
// version read, so a concurrent claim makes the whole append fail.
func (s *Service) relationshipKeys(ctx context.Context, r *domain.Relationship, events []domain.Event) ([]part, error) {
	id, from, to := r.ID, r.From, r.To
	var claim, release string
	for _, e := range events {
		switch e := e.(type) {
		case domain.RelationshipEstablished:
			id, from, to, claim = e.RelationshipID, e.FromPartyID, e.ToPartyID, e.Kind
		case domain.RelationshipRevised:
			if ch, ok := e.Changes["kind"]; ok {
				claim, _ = ch.To.(string)
				release = r.Kind
			}
		case domain.RelationshipEnded:
			release = r.Kind
		}
	}
	var parts []part
	if release != "" {
		k, stream, err := s.relationshipKey(ctx, from, to, release)
		if err != nil {
			return nil, err
		}
		if evs := k.Release(id, from, to, release); len(evs) > 0 {
			parts = append(parts, part{stream: stream, expected: k.Version, events: evs})
		}
	}
	if claim != "" {
		k, stream, err := s.relationshipKey(ctx, from, to, claim)
		if err != nil {
			return nil, err
		}
		evs, err := k.Claim(id, from, to, claim)
		if err != nil {
			return nil, err
		}
		if len(evs) > 0 {
			parts = append(parts, part{stream: stream, expected: k.Version, events: evs})
		}
	}
	return parts, nil
}

// relationshipKey folds the key stream of (from, to, kind). Key streams
// are short and not cached: their version is checked at append anyway.
func (s *Service) relationshipKey(ctx context.Context, from, to domain.PartyID, kind string) (*domain.RelationshipKey, string, error) {
	stream := domain.RelationshipKeyStream(from, to, kind)
	evs, err := s.Store.ReadStream(ctx, stream, 1)
	if err != nil {
		return nil, stream, fmt.Errorf("load %s: %w", stream, err)
	}
	k := &domain.RelationshipKey{}
	var size int64
	if err := fold(k, evs, &k.Version, &size); err != nil {
		return nil, stream, err
	}
	return k, stream, nil
}

// relationshipDirectory answers a relationship decision's questions from
// the read model as it stands: the status of the parties named, and the
// active relationship from → to of kind (which finds relationships
// established before key reservations existed; the key streams keep the
// rule for the others). Every acknowledged write has already been applied
// to the read model, so it needs no catch-up here.
func (s *Service) relationshipDirectory(ctx context.Context, parties []domain.PartyID, from, to domain.PartyID, kind string) (*relDirectory, error) {
	reads, ok := s.Reads.(RelationshipReads)
	if !ok {
		return nil, errors.New("relationships: the read model does not answer relationship queries")
	}
	d := &relDirectory{status: map[domain.PartyID]string{}}
	for _, id := range parties {
		if !domain.ValidID(string(id)) {
			continue
		}
		_, status, err := s.Reads.PartyParent(ctx, string(id))
		if err != nil {
			return nil, fmt.Errorf("look up party: %w", err)
		}
		d.status[id] = status
	}
	if domain.ValidID(string(from)) && domain.ValidID(string(to)) {
		id, found, err := reads.ActiveRelationship(ctx, string(from), string(to), kind)
		if err != nil {
			return nil, fmt.Errorf("look up relationship: %w", err)
		}
		if found {
			d.from, d.to, d.kind, d.active = from, to, kind, domain.RelationshipID(id)
		}
	}
	return d, nil
}

// relDirectory is a domain.RelationshipDirectory over the answers fetched
// for one command.
type relDirectory struct {
	status   map[domain.PartyID]string
	from, to domain.PartyID
	kind     string
	active   domain.RelationshipID
}

func (d *relDirectory) PartyStatus(id domain.PartyID) string { return d.status[id] }

func (d *relDirectory) ActiveRelationship(from, to domain.PartyID, kind string) (domain.RelationshipID, bool) {
	if d.active != "" && from == d.from && to == d.to && kind == d.kind {
		return d.active, true
	}
	return "", false
}
