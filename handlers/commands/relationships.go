package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
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
// relationship with the same (from, to, kind) with ECONFLICT.
func (s *Service) EstablishRelationship(ctx context.Context, cmd domain.EstablishRelationship) (Result, error) {
	if cmd.RelationshipID == "" {
		cmd.RelationshipID = domain.RelationshipID(newID())
	}
	// The duplicate check and the append happen under the directory lock,
	// after the read model has caught up, as for party names.
	s.directory.Lock()
	defer s.directory.Unlock()
	dir, err := s.relationshipDirectory(ctx, []domain.PartyID{cmd.FromPartyID, cmd.ToPartyID},
		cmd.FromPartyID, cmd.ToPartyID, cmd.Kind)
	if err != nil {
		return Result{}, err
	}
	r := &domain.Relationship{}
	now := s.now()
	events, err := r.Establish(cmd, dir, now)
	if err != nil {
		return Result{}, err
	}
	return s.append(ctx, cmd.RelationshipID.Stream(), eventstore.NoStream, cmd.Meta, events, now)
}

// ReviseRelationship changes a relationship's kind, label or description.
// ifMatch, when not nil, is the version the caller last saw.
func (s *Service) ReviseRelationship(ctx context.Context, cmd domain.ReviseRelationship, ifMatch *int64) (Result, error) {
	s.directory.Lock()
	defer s.directory.Unlock()
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

// EndRelationship records that a relationship no longer holds.
func (s *Service) EndRelationship(ctx context.Context, cmd domain.EndRelationship, ifMatch *int64) (Result, error) {
	return s.onRelationship(ctx, cmd.RelationshipID, ifMatch, cmd.Meta, func(r *domain.Relationship, now time.Time) ([]domain.Event, error) {
		return r.End(cmd, now)
	})
}

// LoadRelationship folds a relationship's stream. It fails with ENOTFOUND
// for an unknown relationship.
func (s *Service) LoadRelationship(ctx context.Context, id domain.RelationshipID) (*domain.Relationship, error) {
	if !domain.ValidID(string(id)) {
		return nil, domain.Errorf(domain.ENOTFOUND, "no relationship %s", id)
	}
	stored, err := s.Store.ReadStream(ctx, id.Stream(), 1)
	if err != nil {
		return nil, fmt.Errorf("load relationship %s: %w", id, err)
	}
	r := &domain.Relationship{}
	for _, e := range stored {
		de, err := domain.Decode(e.Type, e.Schema, e.Data)
		if err != nil {
			return nil, fmt.Errorf("load relationship %s at version %d: %w", id, e.Version, err)
		}
		r.Apply(de)
	}
	if !r.Exists() {
		return nil, domain.Errorf(domain.ENOTFOUND, "no relationship %s", id)
	}
	return r, nil
}

// onRelationship is onParty for relationships: load, check If-Match,
// decide, append with the loaded version.
func (s *Service) onRelationship(ctx context.Context, id domain.RelationshipID, ifMatch *int64, meta domain.Meta,
	decide func(*domain.Relationship, time.Time) ([]domain.Event, error)) (Result, error) {
	r, err := s.LoadRelationship(ctx, id)
	if err != nil {
		return Result{}, err
	}
	if ifMatch != nil && *ifMatch != r.Version {
		return Result{}, &domain.Error{Code: domain.EPRECONDITION,
			Message: fmt.Sprintf("relationship %s is at version %d, not %d as the request expected", id, r.Version, *ifMatch),
			Err:     &eventstore.ConflictError{Stream: id.Stream(), Expected: *ifMatch, Actual: r.Version}}
	}
	now := s.now()
	events, err := decide(r, now)
	if err != nil {
		return Result{}, err
	}
	res, err := s.append(ctx, id.Stream(), r.Version, meta, events, now)
	if err != nil && ifMatch != nil && domain.ErrorCode(err) == domain.ECONFLICT && errors.Is(err, eventstore.ErrConflict) {
		err.(*domain.Error).Code = domain.EPRECONDITION
	}
	if res.Version == 0 {
		res.Version = r.Version
	}
	return res, err
}

// relationshipDirectory answers a relationship decision's questions: the
// status of the parties named, and the active relationship from → to of
// kind. The read model is first brought up to the head of the log.
func (s *Service) relationshipDirectory(ctx context.Context, parties []domain.PartyID, from, to domain.PartyID, kind string) (*relDirectory, error) {
	reads, ok := s.Reads.(RelationshipReads)
	if !ok {
		return nil, errors.New("relationships: the read model does not answer relationship queries")
	}
	head, _, err := s.Store.Head(ctx)
	if err != nil {
		return nil, fmt.Errorf("read head: %w", err)
	}
	if err := s.Reads.WaitFor(ctx, head); err != nil {
		return nil, fmt.Errorf("wait for read model: %w", err)
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
