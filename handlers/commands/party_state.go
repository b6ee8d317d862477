package commands

import (
	"maps"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// PartyState is a party as the command pipeline folds it: the domain's
// state plus the times the register shows beside it (when the party and each
// of its requirements were identified and last changed, from the events'
// envelopes). A write is answered from it, so the edge need not read the
// party back from the read model.
type PartyState struct {
	domain.Party
	CreatedAt, UpdatedAt time.Time
	// Times holds each requirement's times, by id.
	Times map[domain.RequirementID]Times
}

// Times are when something was first recorded and last changed.
type Times struct {
	CreatedAt, UpdatedAt time.Time
}

// stamper is implemented by aggregates that keep more of a stored event
// than its domain event: [fold] calls stamp after Apply.
type stamper interface {
	stamp(ev *eventstore.Event, de domain.Event)
}

// stamp records the event's time the way the register does: every event
// of the party's stream changes the party's updated time, and an event about
// a requirement also that requirement's.
func (p *PartyState) stamp(ev *eventstore.Event, de domain.Event) {
	t := ev.Time.UTC()
	p.UpdatedAt = t
	var rid domain.RequirementID
	switch e := de.(type) {
	case domain.PartyIdentified:
		p.CreatedAt = t
	case domain.RequirementIdentified:
		if p.Times == nil {
			p.Times = map[domain.RequirementID]Times{}
		}
		p.Times[e.RequirementID] = Times{CreatedAt: t}
		rid = e.RequirementID
	case domain.RequirementRevised:
		rid = e.RequirementID
	case domain.RequirementAddressingDecided:
		rid = e.RequirementID
	case domain.RequirementRetired:
		rid = e.RequirementID
	case domain.RequirementReviewed:
		rid = e.RequirementID
	}
	if rt, ok := p.Times[rid]; ok {
		rt.UpdatedAt = t
		p.Times[rid] = rt
	}
}

// Clone returns a deep copy the caller may keep.
func (p *PartyState) Clone() *PartyState {
	return &PartyState{Party: *p.Party.Clone(), CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt, Times: maps.Clone(p.Times)}
}
