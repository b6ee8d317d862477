package projections

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// feed projects party and requirement events into the changes table, one
// row per event. It keeps the names it shows (party name, scope, category;
// requirement title, kind) in change_parties and change_requirements, so that
// it depends on no other projection's checkpoint.
type feed struct {
	heldStmts
	limit   int
	parties map[string]*partyRefState
	reqs    map[string]*reqRefState
	dirtyP  []*partyRefState
	dirtyR  []*reqRefState

	ins                              *rowBuffer // changes, written in multi-row INSERTs
	selParty, selReq, upParty, upReq *sql.Stmt
	obj                              feedObjectives    // objectives, reviews, communications (feed_objectives.go)
	rel                              feedRelationships // relationships (feed_relationships.go)
}

// insertChange writes the rows of the changes table.
func insertChange() *rowBuffer {
	return newRowBuffer(`INSERT INTO changes (position, event_id, event_type, event_time, actor, reason,
			event_trigger, party_id, party_name, party_scope, party_category, requirement_id,
			requirement_title, requirement_kind, change_kind, changes, objective, relationship_id, relationship, effective_on)
		VALUES `, ``, 20, 32)
}

// useStmts gives the feed and its parts the read model's statement cache.
func (f *feed) useStmts(c *stmtCache) {
	f.heldStmts.useStmts(c)
	f.ins.useStmts(c)
	f.obj.useStmts(c)
	f.rel.useStmts(c)
}

type partyRefState struct {
	ref   PartyRef
	dirty bool
}

type reqRefState struct {
	partyID string
	ref     RequirementRef
	dirty   bool
}

func newFeed() *feed {
	return &feed{parties: map[string]*partyRefState{}, reqs: map[string]*reqRefState{}, ins: insertChange()}
}

func (f *feed) name() string { return "changes" }
func (f *feed) tables() []string {
	return []string{"changes", "change_parties", "change_requirements", "change_objectives", "change_kpis",
		"change_relationships"}
}

// setCacheLimit bounds the cached parties; requirements may be several times
// as many, and are small.
func (f *feed) setCacheLimit(n int) { f.limit = n }

func (f *feed) begin(ctx context.Context, tx *sql.Tx) error {
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var s *sql.Stmt
		s, err = f.prepare(ctx, tx, q)
		return s
	}
	f.ins.begin(tx)
	f.selParty = prep(`SELECT name, scope, category FROM change_parties WHERE id = ?`)
	f.selReq = prep(`SELECT party_id, title, kind FROM change_requirements WHERE id = ?`)
	f.upParty = prep(`INSERT INTO change_parties (id, name, scope, category) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, scope = excluded.scope,
			category = excluded.category`)
	f.upReq = prep(`INSERT INTO change_requirements (id, party_id, title, kind) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET party_id = excluded.party_id, title = excluded.title,
			kind = excluded.kind`)
	if err == nil {
		err = f.obj.begin(ctx, tx)
	}
	if err == nil {
		err = f.rel.begin(ctx, tx)
	}
	return err
}

func (f *feed) end(committed bool) {
	f.ins.end()
	f.selParty, f.selReq, f.upParty, f.upReq = nil, nil, nil, nil
	f.obj.end()
	f.rel.end()
	f.dirtyP, f.dirtyR = f.dirtyP[:0], f.dirtyR[:0]
	if !committed || len(f.parties) > f.limit || len(f.reqs) > 8*f.limit {
		clear(f.parties)
		clear(f.reqs)
	}
}

func (f *feed) apply(ctx context.Context, ev *eventstore.Event, de domain.Event) error {
	item, ok, err := f.item(ctx, ev, de)
	if err != nil || !ok {
		return err
	}
	changes, err := json.Marshal(item.Changes)
	if err != nil {
		return fmt.Errorf("encode changes: %w", err)
	}
	var rid, rtitle, rkind *string
	if r := item.Requirement; r != nil {
		rid, rtitle, rkind = &r.ID, &r.Title, &r.Kind
	}
	obj, err := objectiveJSON(item.Objective)
	if err != nil {
		return err
	}
	relID, rel, err := relationshipColumns(item.Relationship)
	if err != nil {
		return err
	}
	return f.ins.add(ctx, item.Position, item.EventID, item.Type, formatTime(item.Time),
		item.Actor, item.Reason, item.Trigger, item.Party.ID, item.Party.Name, item.Party.Scope,
		item.Party.Category, rid, rtitle, rkind, item.Change, string(changes), obj, relID, rel, ev.EffectiveOn)
}

// item builds the feed item of one event and updates the names the feed
// keeps. Its Changes hold the values as decoded from the event (float64
// numbers, []any lists); [normalizeChanges] gives what the table returns.
// ok is false for events that are not feed items.
func (f *feed) item(ctx context.Context, ev *eventstore.Event, de domain.Event) (ChangeItem, bool, error) {
	item := ChangeItem{Position: ev.Position, EventID: ev.ID, Type: ev.Type, Time: ev.Time.UTC(),
		Actor: ev.Actor, Reason: ev.Reason, Trigger: ev.Trigger, EffectiveOn: ev.EffectiveDate()}
	var ps *partyRefState
	var rs *reqRefState
	var err error
	switch e := de.(type) {
	case domain.PartyIdentified:
		ps = f.newParty(PartyRef{ID: string(e.PartyID), Name: e.Name, Scope: e.Scope, Category: e.Category})
		item.Change = ChangePartyAdded
		item.Changes = fieldChanges(domain.PartyFields, domain.Changes{
			"name": {To: e.Name}, "category": {To: e.Category}, "scope": {To: e.Scope},
			"description": {To: e.Description}, "owner": {To: e.Owner},
			"influence": {To: e.Influence}, "interest": {To: e.Interest},
			"parent_id": {To: ptrOrNil(e.ParentID)}, "status": {To: domain.StatusActive}})
	case domain.PartyRevised:
		if ps, err = f.party(ctx, string(e.PartyID)); err != nil {
			return item, false, err
		}
		ps.apply(e.Changes)
		f.touchParty(ps)
		item.Change = ChangePartyRevised
		item.Changes = fieldChanges(domain.PartyFields, e.Changes)
	case domain.PartyRetired:
		if ps, err = f.party(ctx, string(e.PartyID)); err != nil {
			return item, false, err
		}
		item.Change = ChangePartyRetired
		item.Changes = fieldChanges(domain.PartyFields, e.Changes)
	case domain.RequirementIdentified:
		if ps, err = f.party(ctx, string(e.PartyID)); err != nil {
			return item, false, err
		}
		rs = f.newRequirement(string(e.PartyID), RequirementRef{ID: string(e.RequirementID), Title: e.Title, Kind: e.Kind})
		item.Change = ChangeRequirementAdded
		item.Changes = fieldChanges(domain.RequirementFields, domain.Changes{
			"kind": {To: e.Kind}, "title": {To: e.Title}, "description": {To: e.Description},
			"source_type": {To: e.SourceType}, "source_ref": {To: e.SourceRef},
			"owner": {To: e.Owner}, "priority": {To: e.Priority},
			"review_due": {To: ptrOrNil(e.ReviewDue)}, "addressed": {To: ptrOrNil(e.Addressed)},
			"rationale": {To: e.Rationale}, "treatment": {To: e.Treatment},
			"controls": {To: e.Controls}, "status": {To: domain.StatusActive}})
	case domain.RequirementRevised:
		if ps, rs, err = f.requirement(ctx, string(e.PartyID), string(e.RequirementID)); err != nil {
			return item, false, err
		}
		rs.apply(e.Changes)
		f.touchRequirement(rs)
		item.Change = ChangeRequirementRevised
		item.Changes = fieldChanges(domain.RequirementFields, e.Changes)
	case domain.RequirementAddressingDecided:
		if ps, rs, err = f.requirement(ctx, string(e.PartyID), string(e.RequirementID)); err != nil {
			return item, false, err
		}
		item.Change = ChangeRequirementAddressingDecided
		item.Changes = fieldChanges(domain.RequirementFields, e.Changes)
	case domain.RequirementRetired:
		if ps, rs, err = f.requirement(ctx, string(e.PartyID), string(e.RequirementID)); err != nil {
			return item, false, err
		}
		item.Change = ChangeRequirementRetired
		item.Changes = fieldChanges(domain.RequirementFields, e.Changes)
	default:
		return f.moreItem(ctx, ev, de, item)
	}
	item.Party = ps.ref
	if rs != nil {
		ref := rs.ref
		item.Requirement = &ref
	}
	return item, true, nil
}

func (f *feed) newParty(ref PartyRef) *partyRefState {
	ps := &partyRefState{ref: ref}
	f.parties[ref.ID] = ps
	f.touchParty(ps)
	return ps
}

func (f *feed) newRequirement(partyID string, ref RequirementRef) *reqRefState {
	rs := &reqRefState{partyID: partyID, ref: ref}
	f.reqs[ref.ID] = rs
	f.touchRequirement(rs)
	return rs
}

func (f *feed) touchParty(ps *partyRefState) {
	if !ps.dirty {
		ps.dirty = true
		f.dirtyP = append(f.dirtyP, ps)
	}
}

func (f *feed) touchRequirement(rs *reqRefState) {
	if !rs.dirty {
		rs.dirty = true
		f.dirtyR = append(f.dirtyR, rs)
	}
}

// party returns the names of a party. A party the feed has never seen (a log
// that starts mid-stream) is shown by id alone.
func (f *feed) party(ctx context.Context, id string) (*partyRefState, error) {
	if ps, ok := f.parties[id]; ok {
		return ps, nil
	}
	ps := &partyRefState{ref: PartyRef{ID: id}}
	err := f.selParty.QueryRowContext(ctx, id).Scan(&ps.ref.Name, &ps.ref.Scope, &ps.ref.Category)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("load party names %s: %w", id, err)
	}
	f.parties[id] = ps
	return ps, nil
}

func (f *feed) requirement(ctx context.Context, partyID, id string) (*partyRefState, *reqRefState, error) {
	ps, err := f.party(ctx, partyID)
	if err != nil {
		return nil, nil, err
	}
	if rs, ok := f.reqs[id]; ok {
		return ps, rs, nil
	}
	rs := &reqRefState{partyID: partyID, ref: RequirementRef{ID: id}}
	var pid string
	err = f.selReq.QueryRowContext(ctx, id).Scan(&pid, &rs.ref.Title, &rs.ref.Kind)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, nil, fmt.Errorf("load requirement names %s: %w", id, err)
	}
	f.reqs[id] = rs
	return ps, rs, nil
}

func (ps *partyRefState) apply(c domain.Changes) {
	for field, ch := range c {
		s, _ := ch.To.(string)
		switch field {
		case "name":
			ps.ref.Name = s
		case "scope":
			ps.ref.Scope = s
		case "category":
			ps.ref.Category = s
		}
	}
}

func (rs *reqRefState) apply(c domain.Changes) {
	for field, ch := range c {
		s, _ := ch.To.(string)
		switch field {
		case "title":
			rs.ref.Title = s
		case "kind":
			rs.ref.Kind = s
		}
	}
}

func (f *feed) flush(ctx context.Context) error {
	if err := f.ins.flush(ctx); err != nil {
		return fmt.Errorf("write changes: %w", err)
	}
	for _, ps := range f.dirtyP {
		if _, err := f.upParty.ExecContext(ctx, ps.ref.ID, ps.ref.Name, ps.ref.Scope, ps.ref.Category); err != nil {
			return fmt.Errorf("write party names %s: %w", ps.ref.ID, err)
		}
		ps.dirty = false
	}
	for _, rs := range f.dirtyR {
		if _, err := f.upReq.ExecContext(ctx, rs.ref.ID, rs.partyID, rs.ref.Title, rs.ref.Kind); err != nil {
			return fmt.Errorf("write requirement names %s: %w", rs.ref.ID, err)
		}
		rs.dirty = false
	}
	return nil
}

// fieldChanges turns a changes map into a list in display order. For an
// added party or requirement the map holds every field, from null.
func fieldChanges(order []string, c domain.Changes) []FieldChange {
	out := make([]FieldChange, 0, len(c))
	for _, field := range c.Fields(order) {
		out = append(out, FieldChange{Field: field, From: c[field].From, To: c[field].To})
	}
	return out
}

func ptrOrNil[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// normalizeChanges returns changes as they read back from the changes table:
// through JSON, with whole numbers as int, lists of strings as []string and
// other lists as []any. Items built from events and items read from the table
// then compare equal.
func normalizeChanges(changes []FieldChange) ([]FieldChange, error) {
	b, err := json.Marshal(changes)
	if err != nil {
		return nil, err
	}
	return decodeChanges(b)
}

func decodeChanges(b []byte) ([]FieldChange, error) {
	var raw []struct {
		Field string `json:"field"`
		From  any    `json:"from"`
		To    any    `json:"to"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	out := make([]FieldChange, len(raw))
	for i, r := range raw {
		out[i] = FieldChange{Field: r.Field, From: plainValue(r.From), To: plainValue(r.To)}
	}
	return out, nil
}

// plainValue replaces the json.Numbers of a value decoded with UseNumber by
// int (whole numbers) or float64, and lists of strings by []string.
func plainValue(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return int(i)
		}
		f, _ := v.Float64()
		return f
	case []any:
		strs := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				strs = nil
				break
			}
			strs = append(strs, s)
		}
		if strs != nil {
			return strs
		}
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = plainValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = plainValue(e)
		}
		return out
	}
	return v
}

// Window selects feed items. Zero fields do not bound.
type Window struct {
	After     int64     // items with position > After
	Until     int64     // and position <= Until (0: no upper bound; negative: nothing)
	FromTime  time.Time // and time >= FromTime (zero: unbounded)
	UntilTime time.Time // and time <= UntilTime (zero: unbounded)
	Limit     int       // at most this many items, the first ones (0: no limit)
}

const changeCols = `position, event_id, event_type, event_time, actor, reason, event_trigger,
	party_id, party_name, party_scope, party_category, requirement_id, requirement_title,
	requirement_kind, change_kind, changes, objective, relationship, effective_on`

func scanChange(s scanner) (ChangeItem, error) {
	var it ChangeItem
	var at, changes string
	var rid, rtitle, rkind, obj, rel sql.NullString
	if err := s.Scan(&it.Position, &it.EventID, &it.Type, &at, &it.Actor, &it.Reason, &it.Trigger,
		&it.Party.ID, &it.Party.Name, &it.Party.Scope, &it.Party.Category, &rid, &rtitle, &rkind,
		&it.Change, &changes, &obj, &rel, &it.EffectiveOn); err != nil {
		return it, err
	}
	var err error
	if it.Time, err = parseTime(at); err != nil {
		return it, err
	}
	if it.EffectiveOn == "" { // took effect on its recording date
		it.EffectiveOn = it.Time.UTC().Format(eventstore.DateLayout)
	}
	if it.Objective, err = decodeObjective(obj); err != nil {
		return it, fmt.Errorf("bad stored objective at position %d: %w", it.Position, err)
	}
	if it.Relationship, err = decodeRelationship(rel); err != nil {
		return it, fmt.Errorf("bad stored relationship at position %d: %w", it.Position, err)
	}
	if rid.Valid {
		it.Requirement = &RequirementRef{ID: rid.String, Title: rtitle.String, Kind: rkind.String}
	}
	if it.Changes, err = decodeChanges([]byte(changes)); err != nil {
		return it, fmt.Errorf("bad stored changes at position %d: %w", it.Position, err)
	}
	return it, nil
}
