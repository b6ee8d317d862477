// Package commands is the application layer between the edges (HTTP, CLI,
// demo loader) and the event store: it loads an aggregate by folding its
// stream, asks the domain to decide, wraps the resulting events in envelopes
// (id, time, actor, reason, trigger, correlation) and appends them with the
// expected version, then waits until the read model has applied them so
// that a read right after a write shows the write.
package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// ReadModel is what the service needs from the projections: the state of
// other parties (for name uniqueness and parents) and a way to wait until a
// position has been applied.
type ReadModel interface {
	WaitFor(ctx context.Context, position int64) error
	ActivePartyByName(ctx context.Context, name string) (id string, ok bool, err error)
	PartyParent(ctx context.Context, id string) (parent string, status string, err error)
}

// Service executes commands. It is safe for concurrent use.
type Service struct {
	Store eventstore.Store
	Reads ReadModel
	// Now returns the server time stamped on events; defaults to time.Now.
	Now func() time.Time

	// directory serialises the commands whose decision depends on other
	// parties (a party's name must be unique among active parties): check
	// and append happen under it, after the read model has caught up with
	// the log, so two requests cannot both claim one name on this server.
	directory sync.Mutex
}

// Result is what a successful command appended.
type Result struct {
	Stream   string
	Version  int64              // the stream's version after the command
	Position int64              // position of the last appended event; 0 if none
	Events   []eventstore.Event // as stored; empty when the command changed nothing
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// IdentifyParty adds a party. The command's PartyID is set here if empty.
func (s *Service) IdentifyParty(ctx context.Context, cmd domain.IdentifyParty) (Result, error) {
	if cmd.PartyID == "" {
		cmd.PartyID = domain.PartyID(newID())
	}
	s.directory.Lock()
	defer s.directory.Unlock()
	dir, err := s.snapshot(ctx, &cmd.Name, cmd.ParentID)
	if err != nil {
		return Result{}, err
	}
	p := &domain.Party{}
	now := s.now()
	events, err := p.Identify(cmd, dir, now)
	if err != nil {
		return Result{}, err
	}
	return s.append(ctx, cmd.PartyID.Stream(), eventstore.NoStream, cmd.Meta, events, now)
}

// ReviseParty changes a party. ifMatch, when not nil, is the version the
// caller last saw (HTTP If-Match); a different current version fails with
// EPRECONDITION.
func (s *Service) ReviseParty(ctx context.Context, cmd domain.ReviseParty, ifMatch *int64) (Result, error) {
	if cmd.Name != nil || cmd.ParentID != nil {
		s.directory.Lock()
		defer s.directory.Unlock()
	}
	return s.onParty(ctx, cmd.PartyID, ifMatch, cmd.Meta, func(p *domain.Party, now time.Time) ([]domain.Event, error) {
		dir, err := s.snapshot(ctx, cmd.Name, cmd.ParentID)
		if err != nil {
			return nil, err
		}
		return p.Revise(cmd, dir, now)
	})
}

// RetireParty retires a party.
func (s *Service) RetireParty(ctx context.Context, cmd domain.RetireParty, ifMatch *int64) (Result, error) {
	return s.onParty(ctx, cmd.PartyID, ifMatch, cmd.Meta, func(p *domain.Party, now time.Time) ([]domain.Event, error) {
		return p.Retire(cmd, now)
	})
}

// IdentifyRequirement adds a requirement or expectation to a party. The
// command's RequirementID is set here if empty.
func (s *Service) IdentifyRequirement(ctx context.Context, cmd domain.IdentifyRequirement, ifMatch *int64) (Result, error) {
	if cmd.RequirementID == "" {
		cmd.RequirementID = domain.RequirementID(newID())
	}
	return s.onParty(ctx, cmd.PartyID, ifMatch, cmd.Meta, func(p *domain.Party, now time.Time) ([]domain.Event, error) {
		return p.IdentifyRequirement(cmd, now)
	})
}

// ReviseRequirement changes a requirement.
func (s *Service) ReviseRequirement(ctx context.Context, cmd domain.ReviseRequirement, ifMatch *int64) (Result, error) {
	return s.onParty(ctx, cmd.PartyID, ifMatch, cmd.Meta, func(p *domain.Party, now time.Time) ([]domain.Event, error) {
		return p.ReviseRequirement(cmd, now)
	})
}

// DecideAddressing records the clause 4.2 c) decision for a requirement.
func (s *Service) DecideAddressing(ctx context.Context, cmd domain.DecideAddressing, ifMatch *int64) (Result, error) {
	return s.onParty(ctx, cmd.PartyID, ifMatch, cmd.Meta, func(p *domain.Party, now time.Time) ([]domain.Event, error) {
		return p.DecideAddressing(cmd, now)
	})
}

// RetireRequirement retires a requirement.
func (s *Service) RetireRequirement(ctx context.Context, cmd domain.RetireRequirement, ifMatch *int64) (Result, error) {
	return s.onParty(ctx, cmd.PartyID, ifMatch, cmd.Meta, func(p *domain.Party, now time.Time) ([]domain.Event, error) {
		return p.RetireRequirement(cmd, now)
	})
}

// LoadParty folds a party's stream. It fails with ENOTFOUND for an unknown
// party.
func (s *Service) LoadParty(ctx context.Context, id domain.PartyID) (*domain.Party, error) {
	if !domain.ValidID(string(id)) {
		return nil, domain.Errorf(domain.ENOTFOUND, "no party %s", id)
	}
	stored, err := s.Store.ReadStream(ctx, id.Stream(), 1)
	if err != nil {
		return nil, fmt.Errorf("load party %s: %w", id, err)
	}
	p := &domain.Party{ID: id}
	for _, e := range stored {
		de, err := domain.Decode(e.Type, e.Schema, e.Data)
		if err != nil {
			return nil, fmt.Errorf("load party %s at version %d: %w", id, e.Version, err)
		}
		p.Apply(de)
	}
	if !p.Exists() {
		return nil, domain.Errorf(domain.ENOTFOUND, "no party %s", id)
	}
	return p, nil
}

// onParty loads the party, checks the caller's expected version, decides and
// appends with the loaded version as the expected one.
func (s *Service) onParty(ctx context.Context, id domain.PartyID, ifMatch *int64, meta domain.Meta,
	decide func(*domain.Party, time.Time) ([]domain.Event, error)) (Result, error) {
	p, err := s.LoadParty(ctx, id)
	if err != nil {
		return Result{}, err
	}
	if ifMatch != nil && *ifMatch != p.Version {
		return Result{}, &domain.Error{Code: domain.EPRECONDITION,
			Message: fmt.Sprintf("party %s is at version %d, not %d as the request expected", id, p.Version, *ifMatch),
			Err:     &eventstore.ConflictError{Stream: id.Stream(), Expected: *ifMatch, Actual: p.Version}}
	}
	now := s.now()
	events, err := decide(p, now)
	if err != nil {
		return Result{}, err
	}
	res, err := s.append(ctx, id.Stream(), p.Version, meta, events, now)
	if err != nil && ifMatch != nil && domain.ErrorCode(err) == domain.ECONFLICT && errors.Is(err, eventstore.ErrConflict) {
		// The version the caller named was current when we loaded it but
		// another write landed before ours: the precondition failed.
		err.(*domain.Error).Code = domain.EPRECONDITION
	}
	if res.Version == 0 {
		res.Version = p.Version
	}
	return res, err
}

// append wraps domain events in envelopes, appends them and waits for the
// read model. A command that decided nothing appends nothing.
func (s *Service) append(ctx context.Context, stream string, expected int64, meta domain.Meta, events []domain.Event, now time.Time) (Result, error) {
	res := Result{Stream: stream}
	if len(events) == 0 {
		return res, nil
	}
	corr := meta.CorrelationID
	envs := make([]eventstore.Event, 0, len(events))
	for _, de := range events {
		data, err := json.Marshal(de)
		if err != nil {
			return res, fmt.Errorf("encode %s: %w", de.EventType(), err)
		}
		id := newID()
		if corr == "" {
			corr = id
		}
		envs = append(envs, eventstore.Event{ID: id, Type: de.EventType(), Schema: domain.CurrentSchema,
			Time: now, Actor: meta.Actor, Reason: meta.Reason, Trigger: meta.TriggerOrDefault(),
			CorrelationID: corr, CausationID: meta.CausationID, Data: data})
	}
	stored, err := s.Store.Append(ctx, stream, expected, envs)
	if err != nil {
		var ce *eventstore.ConflictError
		if errors.As(err, &ce) {
			return res, &domain.Error{Code: domain.ECONFLICT, Err: err,
				Message: fmt.Sprintf("%s was changed concurrently: expected version %d, actual %d", stream, ce.Expected, ce.Actual)}
		}
		return res, fmt.Errorf("append %s: %w", stream, err)
	}
	last := stored[len(stored)-1]
	res.Events, res.Version, res.Position = stored, last.Version, last.Position
	if err := s.Reads.WaitFor(ctx, last.Position); err != nil {
		return res, fmt.Errorf("append %s: stored at position %d, but the read model has not caught up: %w", stream, last.Position, err)
	}
	return res, nil
}

// snapshot answers the domain's Directory questions for one command: who
// owns name, and the chain of parents above parent. The read model is first
// brought up to the head of the log so that the answer is not stale.
func (s *Service) snapshot(ctx context.Context, name *string, parent *domain.PartyID) (*directory, error) {
	head, _, err := s.Store.Head(ctx)
	if err != nil {
		return nil, fmt.Errorf("read head: %w", err)
	}
	if err := s.Reads.WaitFor(ctx, head); err != nil {
		return nil, fmt.Errorf("wait for read model: %w", err)
	}
	d := &directory{byName: map[string]domain.PartyID{}, status: map[domain.PartyID]string{}, parent: map[domain.PartyID]domain.PartyID{}}
	if name != nil {
		id, ok, err := s.Reads.ActivePartyByName(ctx, *name)
		if err != nil {
			return nil, fmt.Errorf("look up name: %w", err)
		}
		if ok {
			d.byName[domain.NormalizeName(*name)] = domain.PartyID(id)
		}
	}
	if parent != nil && *parent != "" && domain.ValidID(string(*parent)) {
		cur := *parent
		for range 1000 { // parent chains are short; the bound guards against a corrupt read model
			if _, seen := d.status[cur]; seen {
				break
			}
			up, status, err := s.Reads.PartyParent(ctx, string(cur))
			if err != nil {
				return nil, fmt.Errorf("look up parent: %w", err)
			}
			d.status[cur] = status
			if up == "" || status == "" {
				break
			}
			d.parent[cur] = domain.PartyID(up)
			cur = domain.PartyID(up)
		}
	}
	return d, nil
}

// directory is a domain.Directory over the answers fetched for one command.
type directory struct {
	byName map[string]domain.PartyID
	status map[domain.PartyID]string
	parent map[domain.PartyID]domain.PartyID
}

func (d *directory) ActivePartyByName(name string) (domain.PartyID, bool) {
	id, ok := d.byName[domain.NormalizeName(name)]
	return id, ok
}

func (d *directory) PartyStatus(id domain.PartyID) string { return d.status[id] }

func (d *directory) ParentOf(id domain.PartyID) (domain.PartyID, bool) {
	p, ok := d.parent[id]
	return p, ok
}

// newID returns a new UUIDv7 (time-ordered) as a string.
func newID() string {
	return uuid.Must(uuid.NewV7()).String()
}
