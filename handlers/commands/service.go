// Package commands is the application layer between the edges (HTTP, CLI,
// demo loader) and the event store: it loads an aggregate by folding its
// stream, asks the domain to decide, wraps the resulting events in envelopes
// (id, time, actor, reason, trigger, correlation) and appends them with the
// expected version, then waits until the read model has applied them so
// that a read right after a write shows the write.
package commands

import (
	"context"
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
//
// Every command goes through one pipeline ([execute]): fold cache, decide,
// atomic append with the expected version (plus name reservations),
// wait. Nothing is serialised across streams: a party name is kept unique by
// its reservation stream (see [domain.ReservationStream]), which the store
// checks in the same atomic append as the event that takes the name, so the
// rule holds across processes sharing one store; relationship keys and the
// order of management reviews ([domain.ReviewSequenceStream]) likewise.
type Service struct {
	Store eventstore.Store
	Reads ReadModel
	// Now returns the server time stamped on events; defaults to time.Now.
	Now func() time.Time
	// Cache keeps folded aggregates. Nil means a cache of
	// [DefaultCacheBytes], made on first use.
	Cache *FoldCache
	// WaitTimeout bounds each wait for the read model. Zero means
	// [DefaultWaitTimeout].
	WaitTimeout time.Duration

	cacheOnce sync.Once
}

func (s *Service) cache() *FoldCache {
	s.cacheOnce.Do(func() {
		if s.Cache == nil {
			s.Cache = NewFoldCache(0)
		}
	})
	return s.Cache
}

// Result is what a successful command appended.
type Result struct {
	Stream   string
	Version  int64              // the stream's version after the command
	Position int64              // position of the last appended event; 0 if none
	Events   []eventstore.Event // as stored; empty when the command changed nothing
	// Party is, for a command on a party, the party right after the
	// command as the pipeline folded it (a copy the caller may keep): an
	// edge answers the write from it instead of reading it back. Nil for
	// commands on other aggregates.
	Party *PartyState
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// IdentifyParty adds a party. The command's PartyID is set here if empty.
// The name is claimed in the same atomic append.
func (s *Service) IdentifyParty(ctx context.Context, cmd domain.IdentifyParty) (Result, error) {
	if cmd.PartyID == "" {
		cmd.PartyID = domain.PartyID(newID())
	}
	return execute(ctx, s, command[PartyState]{
		stream: cmd.PartyID.Stream(), meta: cmd.Meta, fresh: true,
		decide: func(p *PartyState, now time.Time) ([]domain.Event, error) {
			dir, err := s.snapshot(ctx, &cmd.Name, cmd.ParentID)
			if err != nil {
				return nil, err
			}
			return p.Identify(cmd, dir, now)
		},
		also:  s.partyReservations,
		clone: (*PartyState).Clone, answer: answerParty,
	})
}

// ReviseParty changes a party. ifMatch, when not nil, is the version the
// caller last saw (HTTP If-Match); a different current version fails with
// EPRECONDITION. A rename releases the old name and claims the new one in
// the same atomic append.
func (s *Service) ReviseParty(ctx context.Context, cmd domain.ReviseParty, ifMatch *int64) (Result, error) {
	return s.onParty(ctx, cmd.PartyID, ifMatch, cmd.Meta, func(p *domain.Party, now time.Time) ([]domain.Event, error) {
		if cmd.Name == nil && cmd.ParentID == nil {
			return p.Revise(cmd, noDirectory{}, now)
		}
		dir, err := s.snapshot(ctx, cmd.Name, cmd.ParentID)
		if err != nil {
			return nil, err
		}
		return p.Revise(cmd, dir, now)
	})
}

// RetireParty retires a party and releases its name.
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

// LoadParty returns a party folded from its stream (through the fold
// cache), as a copy the caller may keep. It fails with ENOTFOUND for an
// unknown party.
func (s *Service) LoadParty(ctx context.Context, id domain.PartyID) (*domain.Party, error) {
	if !domain.ValidID(string(id)) {
		return nil, partyNotFound(id)()
	}
	var out *domain.Party
	_, err := execute(ctx, s, command[PartyState]{
		stream: id.Stream(), exists: partyExists, notFound: partyNotFound(id),
		decide: func(p *PartyState, _ time.Time) ([]domain.Event, error) {
			out = p.Party.Clone()
			return nil, nil
		},
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// answerParty is the answer of every party command: the party as folded.
func answerParty(p *PartyState, res *Result) { res.Party = p }

func partyExists(p *PartyState) bool { return p.Exists() }

func partyNotFound(id domain.PartyID) func() error {
	return func() error { return domain.Errorf(domain.ENOTFOUND, "no party %s", id) }
}

// onParty runs a decision on an existing party through [execute].
func (s *Service) onParty(ctx context.Context, id domain.PartyID, ifMatch *int64, meta domain.Meta,
	decide func(*domain.Party, time.Time) ([]domain.Event, error)) (Result, error) {
	if !domain.ValidID(string(id)) {
		return Result{}, partyNotFound(id)()
	}
	return execute(ctx, s, command[PartyState]{
		stream: id.Stream(), meta: meta, ifMatch: ifMatch,
		exists: partyExists, notFound: partyNotFound(id),
		decide: func(p *PartyState, now time.Time) ([]domain.Event, error) { return decide(&p.Party, now) },
		also:   s.partyReservations,
		clone:  (*PartyState).Clone, answer: answerParty,
	})
}

// reservations returns the name claims and releases that go with a party's
// events: the name of an identification is claimed; a rename releases the
// old name (when this party holds it) and claims the new one; a retirement
// releases the name. A name another party holds fails with ECONFLICT. The
// reservation streams are read here and appended at the version read, so a
// concurrent claim makes the whole append fail.
func (s *Service) reservations(ctx context.Context, p *domain.Party, events []domain.Event) ([]part, error) {
	var claim, release string
	id := p.ID
	for _, e := range events {
		switch e := e.(type) {
		case domain.PartyIdentified:
			claim, id = e.Name, e.PartyID
		case domain.PartyRevised:
			if ch, ok := e.Changes["name"]; ok {
				to, _ := ch.To.(string)
				if domain.NormalizeName(to) != domain.NormalizeName(p.Name) {
					claim, release = to, p.Name
				}
			}
		case domain.PartyRetired:
			release = p.Name
		}
	}
	var parts []part
	if release != "" {
		r, err := s.reservation(ctx, release)
		if err != nil {
			return nil, err
		}
		if evs := r.Release(id, release); len(evs) > 0 {
			parts = append(parts, part{stream: domain.ReservationStream(release), expected: r.Version, events: evs})
		}
	}
	if claim != "" {
		r, err := s.reservation(ctx, claim)
		if err != nil {
			return nil, err
		}
		evs, err := r.Claim(id, claim)
		if err != nil {
			return nil, err
		}
		if len(evs) > 0 {
			parts = append(parts, part{stream: domain.ReservationStream(claim), expected: r.Version, events: evs})
		}
	}
	return parts, nil
}

// partyReservations is [Service.reservations] for [execute].
func (s *Service) partyReservations(ctx context.Context, p *PartyState, events []domain.Event) ([]part, error) {
	return s.reservations(ctx, &p.Party, events)
}

// reservation folds the reservation stream of name. Reservation streams are
// short (one claim and one release per holder) and not cached: their
// version is checked at append anyway.
func (s *Service) reservation(ctx context.Context, name string) (*domain.NameReservation, error) {
	stream := domain.ReservationStream(name)
	evs, err := s.Store.ReadStream(ctx, stream, 1)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", stream, err)
	}
	r := &domain.NameReservation{}
	var size int64
	if err := fold(r, evs, &r.Version, &size); err != nil {
		return nil, err
	}
	return r, nil
}

// snapshot answers the domain's Directory questions for one command from
// the read model as it stands: names of parties created before name
// reservations existed, and the chain of parents above parent. Names are
// kept unique by the reservation streams; the read model needs no catch-up
// here (every acknowledged write has already been applied to it).
func (s *Service) snapshot(ctx context.Context, name *string, parent *domain.PartyID) (*directory, error) {
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

// noDirectory answers a revision that changes neither name nor parent,
// which asks nothing about other parties.
type noDirectory struct{}

func (noDirectory) ActivePartyByName(string) (domain.PartyID, bool) { return "", false }
func (noDirectory) PartyStatus(domain.PartyID) string               { return "" }
func (noDirectory) ParentOf(domain.PartyID) (domain.PartyID, bool)  { return "", false }

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
