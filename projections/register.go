package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// register projects party streams into the parties and requirements tables.
// It folds each party with the domain's own [domain.Party.Apply], so the
// register shows exactly the state the decisions see.
//
// State is kept in memory while a batch runs (and, bounded, between batches)
// and written once per touched party and requirement when the batch is
// flushed, so a party with many events in one batch costs one row write.
type register struct {
	heldStmts
	logger *slog.Logger
	limit  int
	cache  map[domain.PartyID]*partyState
	dirty  []*partyState // touched in this batch, in order of first touch

	selParty, selReqs, upParty, upReq *sql.Stmt
}

// partyState is one party as the register holds it in memory.
type partyState struct {
	p                domain.Party
	created, updated string // formatted times
	reqs             map[domain.RequirementID]*reqState
	dirty            bool
}

// reqState is what the register keeps about a requirement beyond
// [domain.Requirement].
type reqState struct {
	seq              int64 // position of requirement.identified
	created, updated string
	dirty            bool
}

func newRegister(logger *slog.Logger) *register {
	return &register{logger: logger, cache: map[domain.PartyID]*partyState{}}
}

func (r *register) name() string        { return "register" }
func (r *register) tables() []string    { return []string{"parties", "requirements"} }
func (r *register) setCacheLimit(n int) { r.limit = n }

const (
	partyCols = `id, version, name, category, scope, description, owner, influence, interest,
		parent_id, status, created_at, updated_at`
	reqCols = `id, party_id, kind, title, description, source_type, source_ref, owner, priority,
		review_due, addressed, rationale, treatment, controls, status, created_at, updated_at`
)

func (r *register) begin(ctx context.Context, tx *sql.Tx) error {
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var s *sql.Stmt
		s, err = r.prepare(ctx, tx, q)
		return s
	}
	r.selParty = prep(`SELECT ` + partyCols + ` FROM parties WHERE id = ?`)
	r.selReqs = prep(`SELECT seq, ` + reqCols + ` FROM requirements WHERE party_id = ? ORDER BY seq`)
	r.upParty = prep(`INSERT INTO parties (id, version, name, name_key, category, scope, description,
			owner, influence, interest, parent_id, status, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET version = excluded.version, name = excluded.name,
			name_key = excluded.name_key, category = excluded.category, scope = excluded.scope,
			description = excluded.description, owner = excluded.owner,
			influence = excluded.influence, interest = excluded.interest,
			parent_id = excluded.parent_id, status = excluded.status,
			created_at = excluded.created_at, updated_at = excluded.updated_at`)
	r.upReq = prep(`INSERT INTO requirements (id, party_id, seq, kind, title, description,
			source_type, source_ref, owner, priority, review_due, addressed, rationale, treatment,
			controls, status, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET party_id = excluded.party_id, seq = excluded.seq,
			kind = excluded.kind, title = excluded.title, description = excluded.description,
			source_type = excluded.source_type, source_ref = excluded.source_ref,
			owner = excluded.owner, priority = excluded.priority, review_due = excluded.review_due,
			addressed = excluded.addressed, rationale = excluded.rationale,
			treatment = excluded.treatment, controls = excluded.controls, status = excluded.status,
			created_at = excluded.created_at, updated_at = excluded.updated_at`)
	return err
}

// end forgets the batch's statements. After a commit it keeps the states
// not written yet (held during a rebuild, see [holder]); otherwise it
// forgets every state, which may be ahead of the database.
func (r *register) end(committed bool) {
	r.selParty, r.selReqs, r.upParty, r.upReq = nil, nil, nil, nil // closed with the tx
	if !committed {
		for _, st := range r.dirty {
			st.dirty = false
		}
		r.dirty = r.dirty[:0]
		clear(r.cache)
		return
	}
	if len(r.dirty) == 0 && len(r.cache) > r.limit {
		clear(r.cache)
	}
}

// mustFlush reports whether the register holds more parties than its cache
// limit (the rebuild's [rebuildCacheParties]): they are then written with
// the batch and the cache emptied.
func (r *register) mustFlush() bool { return len(r.cache) > r.limit }

// target returns the party (and requirement) an event is about; ok is false
// for events that are not about a party.
func target(de domain.Event) (pid domain.PartyID, rid domain.RequirementID, ok bool) {
	switch e := de.(type) {
	case domain.PartyIdentified:
		return e.PartyID, "", true
	case domain.PartyRevised:
		return e.PartyID, "", true
	case domain.PartyRetired:
		return e.PartyID, "", true
	case domain.RequirementIdentified:
		return e.PartyID, e.RequirementID, true
	case domain.RequirementRevised:
		return e.PartyID, e.RequirementID, true
	case domain.RequirementAddressingDecided:
		return e.PartyID, e.RequirementID, true
	case domain.RequirementRetired:
		return e.PartyID, e.RequirementID, true
	case domain.RequirementReviewed:
		return e.PartyID, e.RequirementID, true
	case domain.CommunicationPlanned:
		return e.PartyID, "", true
	}
	return "", "", false
}

func (r *register) apply(ctx context.Context, ev *eventstore.Event, de domain.Event) error {
	pid, rid, ok := target(de)
	if !ok {
		return nil
	}
	st, err := r.load(ctx, pid)
	if err != nil {
		return err
	}
	st, ignored := foldParty(st, ev, de, rid, func(st *partyState) *partyState {
		r.cache[pid] = st
		if !st.dirty {
			st.dirty = true
			r.dirty = append(r.dirty, st)
		}
		return st
	})
	if ignored != "" {
		r.logger.Warn(ignored, logPosition, ev.Position, logEventID, ev.ID, logType, ev.Type)
		return nil
	}
	if rs := st.reqs[rid]; rs != nil {
		rs.dirty = true
	}
	return nil
}

// foldParty is the register fold: it applies one party event (about
// requirement rid, if any) to st, the party's state or nil for a party not
// identified yet, with the domain's own [domain.Party.Apply], and returns
// the state. A second party.identified or requirement.identified, and an
// event for an unknown party, change nothing: ignored then says why. Before
// changing a state, foldParty passes it to change (a new party's too), which
// returns the state to change: a caller that shares states copies it there.
// The live register (register.apply) and every as_of fold
// ([Snapshot.apply]) fold with it.
func foldParty(st *partyState, ev *eventstore.Event, de domain.Event, rid domain.RequirementID,
	change func(*partyState) *partyState) (_ *partyState, ignored string) {
	stamp := formatTime(ev.Time)
	_, newReq := de.(domain.RequirementIdentified)
	switch e := de.(type) {
	case domain.PartyIdentified:
		if st != nil {
			return st, "party identified twice; event ignored"
		}
		st = &partyState{created: stamp, reqs: map[domain.RequirementID]*reqState{}}
	case domain.RequirementIdentified:
		if st == nil {
			break
		}
		if _, dup := st.p.Requirements[e.RequirementID]; dup {
			return st, "requirement identified twice; event ignored"
		}
	}
	if st == nil {
		return nil, "event for an unknown party ignored"
	}
	st = change(st)
	if newReq {
		st.reqs[rid] = &reqState{seq: ev.Position, created: stamp}
	}
	st.p.Apply(de)
	st.p.Version = ev.Version // the stream's, not a count of what we applied
	st.updated = stamp
	if rs := st.reqs[rid]; rs != nil {
		rs.updated = stamp
	}
	return st, ""
}

// load returns the party's state from the cache or the database, nil if the
// party is unknown.
func (r *register) load(ctx context.Context, id domain.PartyID) (*partyState, error) {
	if st, ok := r.cache[id]; ok {
		return st, nil
	}
	v, err := scanParty(r.selParty.QueryRowContext(ctx, string(id)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load party %s: %w", id, err)
	}
	st := &partyState{
		p: domain.Party{ID: id, Version: v.Version, Name: v.Name, Category: v.Category,
			Scope: v.Scope, Description: v.Description, Owner: v.Owner, Influence: v.Influence,
			Interest: v.Interest, Status: v.Status,
			Requirements: map[domain.RequirementID]*domain.Requirement{}},
		created: formatTime(v.CreatedAt),
		updated: formatTime(v.UpdatedAt),
		reqs:    map[domain.RequirementID]*reqState{},
	}
	if v.ParentID != nil {
		parent := domain.PartyID(*v.ParentID)
		st.p.ParentID = &parent
	}
	rows, err := r.selReqs.QueryContext(ctx, string(id))
	if err != nil {
		return nil, fmt.Errorf("load requirements of %s: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		rv, err := scanRequirement(rows, &seq)
		if err != nil {
			return nil, fmt.Errorf("load requirements of %s: %w", id, err)
		}
		rid := domain.RequirementID(rv.ID)
		st.p.Requirements[rid] = &domain.Requirement{ID: rid, PartyID: id, Kind: rv.Kind,
			Title: rv.Title, Description: rv.Description, SourceType: rv.SourceType,
			SourceRef: rv.SourceRef, Owner: rv.Owner, Priority: rv.Priority, ReviewDue: rv.ReviewDue,
			Addressed: rv.Addressed, Rationale: rv.Rationale, Treatment: rv.Treatment,
			Controls: rv.Controls, Status: rv.Status}
		st.p.Order = append(st.p.Order, rid)
		st.reqs[rid] = &reqState{seq: seq, created: formatTime(rv.CreatedAt), updated: formatTime(rv.UpdatedAt)}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load requirements of %s: %w", id, err)
	}
	r.cache[id] = st
	return st, nil
}

func (r *register) flush(ctx context.Context) error {
	for _, st := range r.dirty {
		p := &st.p
		var parent *string
		if p.ParentID != nil {
			s := string(*p.ParentID)
			parent = &s
		}
		if _, err := r.upParty.ExecContext(ctx, string(p.ID), p.Version, p.Name,
			domain.NormalizeName(p.Name), p.Category, p.Scope, p.Description, p.Owner, p.Influence,
			p.Interest, parent, p.Status, st.created, st.updated); err != nil {
			return fmt.Errorf("write party %s: %w", p.ID, err)
		}
		st.dirty = false
		for _, rid := range p.Order {
			rs := st.reqs[rid]
			if rs == nil || !rs.dirty {
				continue
			}
			q := p.Requirements[rid]
			controls, err := json.Marshal(q.Controls)
			if err != nil {
				return fmt.Errorf("write requirement %s: %w", rid, err)
			}
			if _, err := r.upReq.ExecContext(ctx, string(rid), string(p.ID), rs.seq, q.Kind, q.Title,
				q.Description, q.SourceType, q.SourceRef, q.Owner, q.Priority, q.ReviewDue,
				q.Addressed, q.Rationale, q.Treatment, string(controls), q.Status,
				rs.created, rs.updated); err != nil {
				return fmt.Errorf("write requirement %s: %w", rid, err)
			}
			rs.dirty = false
		}
	}
	r.dirty = r.dirty[:0]
	return nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// scanParty reads the columns of partyCols.
func scanParty(s scanner, extra ...any) (PartyView, error) {
	var v PartyView
	var created, updated string
	dest := append([]any{&v.ID, &v.Version, &v.Name, &v.Category, &v.Scope, &v.Description,
		&v.Owner, &v.Influence, &v.Interest, &v.ParentID, &v.Status, &created, &updated}, extra...)
	if err := s.Scan(dest...); err != nil {
		return v, err
	}
	var err error
	if v.CreatedAt, err = parseTime(created); err != nil {
		return v, err
	}
	if v.UpdatedAt, err = parseTime(updated); err != nil {
		return v, err
	}
	return v, nil
}

// scanRequirement reads the columns of reqCols, after the columns in lead.
func scanRequirement(s scanner, lead ...any) (RequirementView, error) {
	var v RequirementView
	var controls, created, updated string
	dest := append(lead, &v.ID, &v.PartyID, &v.Kind, &v.Title, &v.Description, &v.SourceType,
		&v.SourceRef, &v.Owner, &v.Priority, &v.ReviewDue, &v.Addressed, &v.Rationale,
		&v.Treatment, &controls, &v.Status, &created, &updated)
	if err := s.Scan(dest...); err != nil {
		return v, err
	}
	if err := json.Unmarshal([]byte(controls), &v.Controls); err != nil {
		return v, fmt.Errorf("bad stored controls of %s: %w", v.ID, err)
	}
	var err error
	if v.CreatedAt, err = parseTime(created); err != nil {
		return v, err
	}
	if v.UpdatedAt, err = parseTime(updated); err != nil {
		return v, err
	}
	return v, nil
}
