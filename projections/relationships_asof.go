package projections

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/partyledger/partyledger/domain"
)

// validate returns an EINVALID *domain.Error for an unknown status or kind.
func (f RelationshipFilter) validate() error {
	var bad []domain.FieldError
	switch f.Status {
	case "", "active", "ended", "all":
	default:
		bad = append(bad, domain.FieldError{Field: "status", Message: "must be one of active, ended, all"})
	}
	if f.Kind != "" && !slices.Contains(domain.RelationshipKinds, f.Kind) {
		bad = append(bad, domain.FieldError{Field: "kind", Message: "must be one of " + strings.Join(domain.RelationshipKinds, ", ")})
	}
	if len(bad) > 0 {
		return &domain.Error{Code: domain.EINVALID, Message: "invalid filter", Fields: bad}
	}
	return nil
}

// matches reports whether v passes f (f valid), as the WHERE clause of
// [ReadModel.Relationships] decides it.
func (f RelationshipFilter) matches(v RelationshipView) bool {
	switch f.Status {
	case "", "active":
		if !v.OnMap {
			return false
		}
	case "ended":
		if v.Status != domain.StatusEnded {
			return false
		}
	}
	return (f.PartyID == "" || v.FromPartyID == f.PartyID || v.ToPartyID == f.PartyID) &&
		(f.Kind == "" || v.Kind == f.Kind)
}

// relationshipState is one relationship folded from the log for a past
// moment, with what the relationships table would hold.
type relationshipState struct {
	r                domain.Relationship
	position         int64
	established, upd string
	establishedBy    string
}

// RelationshipsAsOf returns the relationships that pass f as they stood at
// the moment at, in the shape and order of [ReadModel.Relationships]:
// folded from the log (relationship and party streams), not read from the
// current rows. A relationship is on the map then when it was active and
// both its parties were. It returns EINVALID for a bad filter.
func (m *ReadModel) RelationshipsAsOf(ctx context.Context, at AsOf, f RelationshipFilter) ([]RelationshipView, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	upTo, err := m.upTo(ctx, at)
	if err != nil {
		return nil, err
	}
	parties, rels, err := foldRelationships(ctx, m.store, at, upTo)
	if err != nil {
		return nil, err
	}
	return relationshipViewsAt(parties, rels, f)
}

// foldRelationships reads the log up to upTo and folds the parties (the
// register's rules) and the relationships of the moment at.
func foldRelationships(ctx context.Context, r EventReader, at AsOf, upTo int64) (*Snapshot, []*relationshipState, error) {
	s := newSnapshot()
	byID := map[domain.RelationshipID]*relationshipState{}
	var order []*relationshipState
	for through := int64(0); through < upTo; {
		evs, err := r.ReadAll(ctx, through, int(min(foldBatch, upTo-through)))
		if err != nil {
			return nil, nil, fmt.Errorf("projections: fold relationships: %w", err)
		}
		if len(evs) == 0 {
			break
		}
		for i := range evs {
			ev := &evs[i]
			through = ev.Position
			if err := s.apply(ev, at.includes); err != nil {
				return nil, nil, err
			}
			if !strings.HasPrefix(ev.Stream, domain.RelationshipStreamPrefix) || !at.includes(ev) {
				continue
			}
			de, err := decode(ev)
			if err != nil {
				return nil, nil, fmt.Errorf("projections: fold relationships: event %d (%s, id %s): %w", ev.Position, ev.Type, ev.ID, err)
			}
			id := domain.RelationshipID(strings.TrimPrefix(ev.Stream, domain.RelationshipStreamPrefix))
			st := byID[id]
			if _, ok := de.(domain.RelationshipEstablished); ok && st == nil {
				st = &relationshipState{position: ev.Position, established: formatTime(ev.Time), establishedBy: ev.Actor}
				byID[id] = st
				order = append(order, st)
			}
			if st == nil {
				continue
			}
			st.r.Apply(de)
			st.r.Version = ev.Version
			st.upd = formatTime(ev.Time)
		}
	}
	return s, order, nil
}

// relationshipViewsAt renders the folded relationships that pass f.
func relationshipViewsAt(s *Snapshot, rels []*relationshipState, f RelationshipFilter) ([]RelationshipView, error) {
	out := []RelationshipView{}
	for _, st := range rels {
		r := &st.r
		v := RelationshipView{ID: string(r.ID), Version: r.Version, FromPartyID: string(r.From),
			ToPartyID: string(r.To), Kind: r.Kind, Label: r.Label, Description: r.Description,
			Status: r.Status, EstablishedBy: st.establishedBy}
		active := r.Status == domain.StatusActive
		for _, end := range []struct {
			id   domain.PartyID
			name *string
		}{{r.From, &v.FromPartyName}, {r.To, &v.ToPartyName}} {
			p := s.parties[end.id]
			if p == nil {
				active = false
				continue
			}
			*end.name = p.p.Name
			active = active && p.p.Status == domain.StatusActive
		}
		v.OnMap = active
		if !f.matches(v) {
			continue
		}
		var err error
		if v.EstablishedAt, err = parseTime(st.established); err != nil {
			return nil, err
		}
		if v.UpdatedAt, err = parseTime(st.upd); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
