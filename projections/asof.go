package projections

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// AsOf names a past moment of the log: the events up to a position, or the
// events stamped at or before a time.
type AsOf struct {
	// Position: the events with position <= Position (when Time is zero).
	// 0 is before the first event.
	Position int64
	// Time: the events whose time is at or before Time.
	Time time.Time
	// Axis: recorded ("" too) or effective; see [Axis].
	Axis Axis
}

// String renders a in the form [ParseAsOf] reads.
func (a AsOf) String() string {
	if !a.Time.IsZero() {
		return a.Time.UTC().Format(time.RFC3339Nano)
	}
	return "position:" + strconv.FormatInt(a.Position, 10)
}

// ParseAsOf reads "position:<n>" or an RFC 3339 time ("time:<RFC3339>" is
// accepted too). It returns an EINVALID *domain.Error naming field.
func ParseAsOf(field, s string) (AsOf, error) {
	bad := func(msg string) (AsOf, error) {
		return AsOf{}, &domain.Error{Code: domain.EINVALID, Message: "invalid " + field,
			Fields: []domain.FieldError{{Field: field, Message: msg}}}
	}
	if n, ok := strings.CutPrefix(s, "position:"); ok {
		p, err := strconv.ParseInt(n, 10, 64)
		if err != nil || p < 0 {
			return bad("position must be a whole number >= 0")
		}
		return AsOf{Position: p}, nil
	}
	s = strings.TrimPrefix(s, "time:")
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return bad("must be an RFC 3339 time such as 2026-01-31T09:00:00Z, or position:<n>")
	}
	return AsOf{Time: t.UTC()}, nil
}

// includes reports whether the event belongs to the moment.
func (a AsOf) includes(ev *eventstore.Event) bool {
	if a.Axis == AxisEffective {
		return a.includesEffective(ev)
	}
	if !a.Time.IsZero() {
		return !ev.Time.After(a.Time)
	}
	return ev.Position <= a.Position
}

// EventReader reads the log in position order; [eventstore.Store] has it.
type EventReader interface {
	ReadAll(ctx context.Context, after int64, limit int) ([]eventstore.Event, error)
}

// Snapshot is the register folded from the log as it stood at one moment.
// It holds what the live register tables hold, built by the same rules,
// so its queries answer exactly what [ReadModel.Register] and
// [ReadModel.Party] answered at that moment.
type Snapshot struct {
	parties map[domain.PartyID]*partyState
	// owned and ownedReq are the party and requirement states this
	// snapshot may change in place. The others may be shared with
	// snapshots cloned from it, and are copied before a change (copy on
	// write), so that kept snapshots cost little more than what changed
	// between them.
	owned    map[domain.PartyID]bool
	ownedReq map[domain.RequirementID]bool
	// Position is the last event folded (0 for none).
	Position int64
	// through is the last position read (folded or skipped); tmax the
	// latest time of the events read.
	through int64
	tmax    time.Time
}

func newSnapshot() *Snapshot {
	return &Snapshot{parties: map[domain.PartyID]*partyState{}, owned: map[domain.PartyID]bool{},
		ownedReq: map[domain.RequirementID]bool{}}
}

// foldBatch is how many events a fold reads at once.
const foldBatch = 4096

// FoldRegister folds the register from the log r: the events with position
// <= upTo that at includes. It reads from the start of the log; it does not
// use the read model, so it also works on a log alone (the CLI, an auditor's
// copy).
func FoldRegister(ctx context.Context, r EventReader, at AsOf, upTo int64) (*Snapshot, error) {
	return FoldRegisterWhere(ctx, r, upTo, at.includes)
}

// FoldRegisterWhere is the register fold over the log r from its start: it
// folds the events with position <= upTo that keep keeps (nil keeps them
// all). It is the entry point for an as_of on another axis than the
// recorded one (a predicate on the event, such as its effective date); the
// persistent snapshots hold prefixes of the log, so such a fold does not
// start from them.
func FoldRegisterWhere(ctx context.Context, r EventReader, upTo int64, keep func(*eventstore.Event) bool) (*Snapshot, error) {
	s := newSnapshot()
	return s, s.foldTo(ctx, r, keep, upTo, nil)
}

// foldTo reads the events after s.through up to upTo and folds those that
// keep keeps (nil: all). While none has been left out, prefix is called
// with s after each event (the caller may keep a copy).
func (s *Snapshot) foldTo(ctx context.Context, r EventReader, keep func(*eventstore.Event) bool, upTo int64, prefix func(*Snapshot)) error {
	pure := true
	for s.through < upTo {
		evs, err := r.ReadAll(ctx, s.through, int(min(foldBatch, upTo-s.through)))
		if err != nil {
			return fmt.Errorf("projections: fold register: %w", err)
		}
		if len(evs) == 0 {
			break
		}
		for i := range evs {
			ev := &evs[i]
			if ev.Position > upTo {
				return nil
			}
			if keep != nil && !keep(ev) {
				pure = false
			}
			if err := s.apply(ev, keep); err != nil {
				return err
			}
			s.through = ev.Position
			if ev.Time.After(s.tmax) {
				s.tmax = ev.Time
			}
			if pure && prefix != nil {
				prefix(s)
			}
		}
	}
	return nil
}

// clone returns a snapshot equal to s that folding into s does not change,
// nor folding into it changes s: from now on both copy a party or
// requirement state before changing it.
func (s *Snapshot) clone() *Snapshot {
	c := newSnapshot()
	c.parties = maps.Clone(s.parties)
	c.Position, c.through, c.tmax = s.Position, s.through, s.tmax
	clear(s.owned)
	clear(s.ownedReq)
	return c
}

// writable returns the party's state, copied first unless s owns it.
func (s *Snapshot) writable(pid domain.PartyID) *partyState {
	st := s.parties[pid]
	if st == nil || s.owned[pid] {
		return st
	}
	cp := *st
	cp.p.Requirements = maps.Clone(st.p.Requirements)
	cp.p.Order = slices.Clone(st.p.Order)
	cp.p.Plan = maps.Clone(st.p.Plan)
	cp.reqs = maps.Clone(st.reqs)
	s.parties[pid] = &cp
	s.owned[pid] = true
	return &cp
}

// writableReq copies the requirement's states in st (which s owns) unless
// s owns them. The domain replaces a requirement's pointer and slice
// fields rather than writing through them, so a shallow copy is enough.
func (s *Snapshot) writableReq(st *partyState, rid domain.RequirementID) {
	if rid == "" || s.ownedReq[rid] {
		return
	}
	if q := st.p.Requirements[rid]; q != nil {
		cq := *q
		st.p.Requirements[rid] = &cq
	}
	if rs := st.reqs[rid]; rs != nil {
		crs := *rs
		st.reqs[rid] = &crs
	}
	s.ownedReq[rid] = true
}

// apply folds one event by the rules of the register projection
// ([foldParty]) if keep keeps it (nil keeps every event): a second
// party.identified or requirement.identified is ignored, and so is an
// event for an unknown party.
func (s *Snapshot) apply(ev *eventstore.Event, keep func(*eventstore.Event) bool) error {
	if !strings.HasPrefix(ev.Stream, domain.PartyStreamPrefix) || (keep != nil && !keep(ev)) {
		return nil
	}
	de, err := decode(ev)
	if err != nil {
		return fmt.Errorf("projections: fold register: event %d (%s, id %s): %w", ev.Position, ev.Type, ev.ID, err)
	}
	s.applyDecoded(ev, de)
	return nil
}

// applyDecoded folds one party-stream event whose data is de (nil for a
// type this code does not fold).
func (s *Snapshot) applyDecoded(ev *eventstore.Event, de domain.Event) {
	if de == nil {
		return
	}
	pid, rid, ok := target(de)
	if !ok {
		return
	}
	s.Position = ev.Position
	foldParty(s.parties[pid], ev, de, rid, func(st *partyState) *partyState {
		if s.parties[pid] != st { // identified by this event
			s.parties[pid] = st
			s.owned[pid] = true
		} else {
			st = s.writable(pid)
		}
		s.writableReq(st, rid)
		return st
	})
}

// Register returns the register as [ReadModel.Register] does: the parties
// that match f with their active requirements, internal parties first, then
// by name. It returns EINVALID for a bad filter.
func (s *Snapshot) Register(f PartyFilter) ([]PartyView, error) {
	if _, _, err := f.where(); err != nil {
		return nil, err
	}
	// The parties are sorted first, each by a key computed once (name
	// normalisation is the costly part of a comparison), then their views
	// are built in place.
	type keyed struct {
		external bool
		name     string
		st       *partyState
	}
	keep := make([]keyed, 0, len(s.parties))
	for _, st := range s.parties {
		p := &st.p
		switch f.Status {
		case "", domain.StatusActive:
			if p.Status != domain.StatusActive {
				continue
			}
		case domain.StatusRetired:
			if p.Status != domain.StatusRetired {
				continue
			}
		}
		if (f.Category != "" && p.Category != f.Category) || (f.Scope != "" && p.Scope != f.Scope) {
			continue
		}
		keep = append(keep, keyed{p.Scope != scopeInternal, domain.NormalizeName(p.Name), st})
	}
	slices.SortFunc(keep, func(a, b keyed) int {
		if a.external != b.external {
			if a.external {
				return 1
			}
			return -1
		}
		return cmp.Or(strings.Compare(a.name, b.name), strings.Compare(string(a.st.p.ID), string(b.st.p.ID)))
	})
	if len(keep) == 0 {
		return nil, nil // as the live query
	}
	out := make([]PartyView, len(keep))
	for i, k := range keep {
		var err error
		if out[i], err = k.st.view(true); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Party returns one party with all its requirements, as [ReadModel.Party]
// does. It returns ENOTFOUND for a party unknown at that moment.
func (s *Snapshot) Party(id string) (PartyView, error) {
	st := s.parties[domain.PartyID(id)]
	if st == nil {
		return PartyView{}, notFound("no party %s at that moment", id)
	}
	return st.view(false)
}

// view renders the party as the register tables would give it back.
func (st *partyState) view(activeOnly bool) (PartyView, error) {
	p := &st.p
	v := PartyView{ID: string(p.ID), Version: p.Version, Name: p.Name, Category: p.Category,
		Scope: p.Scope, Description: p.Description, Owner: p.Owner, Influence: p.Influence,
		Interest: p.Interest, Status: p.Status}
	if p.ParentID != nil {
		parent := string(*p.ParentID)
		v.ParentID = &parent
	}
	var err error
	if v.CreatedAt, err = parseTime(st.created); err != nil {
		return v, err
	}
	if v.UpdatedAt, err = parseTime(st.updated); err != nil {
		return v, err
	}
	// The requirements in order first (small keys), then their views
	// built in place: a view is large, and copying it through a sort and
	// a growing slice was most of the cost of a register answer.
	type ordered struct {
		seq int64
		id  domain.RequirementID
		q   *domain.Requirement
		rs  *reqState
	}
	reqs := make([]ordered, 0, len(p.Requirements))
	for rid, q := range p.Requirements {
		rs := st.reqs[rid]
		if rs == nil || (activeOnly && q.Status != domain.StatusActive) {
			continue
		}
		reqs = append(reqs, ordered{rs.seq, q.ID, q, rs})
	}
	slices.SortFunc(reqs, func(a, b ordered) int {
		return cmp.Or(cmp.Compare(a.seq, b.seq), strings.Compare(string(a.id), string(b.id)))
	})
	if len(reqs) > 0 {
		v.Requirements = make([]RequirementView, len(reqs))
	}
	for i, r := range reqs {
		q := r.q
		rv := &v.Requirements[i]
		*rv = RequirementView{ID: string(q.ID), PartyID: string(p.ID), Kind: q.Kind, Title: q.Title,
			Description: q.Description, SourceType: q.SourceType, SourceRef: q.SourceRef,
			Owner: q.Owner, Priority: q.Priority, ReviewDue: clonePtr(q.ReviewDue),
			Addressed: clonePtr(q.Addressed), Rationale: q.Rationale, Treatment: q.Treatment,
			Controls: slices.Clone(q.Controls), Status: q.Status}
		if rv.CreatedAt, err = parseTime(r.rs.created); err != nil {
			return v, err
		}
		if rv.UpdatedAt, err = parseTime(r.rs.updated); err != nil {
			return v, err
		}
	}
	return v, nil
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

// StoreHead is the event store's head; [eventstore.Store] has it.
type StoreHead interface {
	Head(ctx context.Context) (position int64, hash string, err error)
}

// SnapshotAt folds the register as it stood at the moment at, from the
// latest persistent snapshot usable for it (see [WithSnapshotInterval]) and
// the events of the store the model follows after it (never from the
// current rows). For a time,
// the audit index finds the last position stamped at or before it; events
// the index has not applied yet are read and filtered by their time.
func (m *ReadModel) SnapshotAt(ctx context.Context, at AsOf) (*Snapshot, error) {
	upTo, err := m.upTo(ctx, at)
	if err != nil {
		return nil, err
	}
	s, err := m.loadSnapshot(ctx, at, upTo)
	if err != nil {
		return nil, err
	}
	return s, s.foldTo(ctx, m.store, at.includes, upTo, nil)
}

// upTo is the last position a fold for at must read: at's position, or
// for a time the last position the audit index finds stamped at or before
// it; while the index is behind the store, the store's head (the events it
// has not applied yet are read and filtered by their time).
func (m *ReadModel) upTo(ctx context.Context, at AsOf) (int64, error) {
	if at.Time.IsZero() {
		return at.Position, nil
	}
	upTo, err := m.PositionAt(ctx, at.Time)
	if err != nil {
		return 0, err
	}
	indexed, err := m.AuditCheckpoint(ctx)
	if err != nil {
		return 0, err
	}
	head, _, err := m.store.Head(ctx)
	if err != nil {
		return 0, fmt.Errorf("projections: as of %s: head: %w", at, err)
	}
	if indexed < head {
		upTo = head
	}
	return upTo, nil
}

// RegisterAsOf returns the register as it stood at the moment at, in the
// shape and order of [ReadModel.Register]: folded from the log, not read
// from the current rows. It returns EINVALID for a bad filter.
func (m *ReadModel) RegisterAsOf(ctx context.Context, at AsOf, f PartyFilter) ([]PartyView, error) {
	if _, _, err := f.where(); err != nil {
		return nil, err
	}
	if at.Axis == AxisEffective {
		return m.registerEffective(ctx, at, f)
	}
	s, err := m.SnapshotAt(ctx, at)
	if err != nil {
		return nil, err
	}
	return s.Register(f)
}

// PartyAsOf returns one party as it stood at the moment at, folded from its
// stream alone, in the shape of [ReadModel.Party]. It returns ENOTFOUND for
// a party that did not exist then.
func (m *ReadModel) PartyAsOf(ctx context.Context, at AsOf, id string) (PartyView, error) {
	evs, err := m.store.ReadStream(ctx, domain.PartyID(id).Stream(), 1)
	if err != nil {
		return PartyView{}, fmt.Errorf("projections: party %s as of %s: %w", id, at, err)
	}
	s := newSnapshot()
	for i := range evs {
		if err := s.apply(&evs[i], at.includes); err != nil {
			return PartyView{}, err
		}
	}
	return s.Party(id)
}

// scopeInternal sorts first in the register (the live query orders by
// scope <> 'internal').
const scopeInternal = "internal"
