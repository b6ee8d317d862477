package httpapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/commands"
	"github.com/partyledger/partyledger/projections"
)

// meta builds the command metadata: the actor from the authenticated token
// (never from the body), reason, trigger and effective_on from the body.
// The effective date is checked (a date, not in the future) by the command
// pipeline with the time it records, and refused there with 400.
func meta(r *http.Request, d *fieldDecoder) domain.Meta {
	return domain.Meta{
		EffectiveOn:   d.str(fieldEffectiveOn),
		Actor:         tokenFrom(r.Context()).Name,
		Reason:        d.str("reason"),
		Trigger:       d.str("trigger"),
		CorrelationID: r.Header.Get(headerCorrelationID), // checked by checkRequest
		CausationID:   r.Header.Get(headerCausationID),
	}
}

// ifMatch parses If-Match: nil when absent or "*", else the version.
func ifMatch(r *http.Request) (*int64, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return nil, nil
	}
	h = strings.TrimPrefix(h, "W/")
	v, err := strconv.ParseInt(strings.Trim(h, `"`), 10, 64)
	if err != nil || v < 0 {
		return nil, problemf(domain.EPRECONDITION, `If-Match must be the ETag of the party, such as "3"`)
	}
	return &v, nil
}

func setETag(w http.ResponseWriter, version int64) {
	w.Header().Set("ETag", `"`+strconv.FormatInt(version, 10)+`"`)
}

var partyFields = []string{"name", "category", "scope", "description", "owner", "influence",
	"interest", "parent_id", "reason", "trigger"}

func (s *Server) handlePartyCreate(w http.ResponseWriter, r *http.Request) error {
	m, err := readBody(r, partyFields...)
	if err != nil {
		return err
	}
	d := &fieldDecoder{m: m}
	cmd := domain.IdentifyParty{
		Meta:        meta(r, d),
		Name:        d.str("name"),
		Category:    d.str("category"),
		Scope:       d.str("scope"),
		Description: d.str("description"),
		Owner:       d.str("owner"),
		Influence:   domain.DefaultLevel,
		Interest:    domain.DefaultLevel,
	}
	if n := d.intPtr("influence"); n != nil {
		cmd.Influence = *n
	}
	if n := d.intPtr("interest"); n != nil {
		cmd.Interest = *n
	}
	if p := d.nullableStr("parent_id"); p != nil && *p != "" {
		id := domain.PartyID(*p)
		cmd.ParentID = &id
	}
	if err := d.err(); err != nil {
		return err
	}
	res, err := s.Commands.IdentifyParty(r.Context(), cmd)
	if err != nil {
		return err
	}
	return s.writeParty(w, r, partyView(res.Party), http.StatusCreated)
}

// partyView renders a party as the command pipeline folded it the way the
// register renders it (projections.ReadModel.Party): every requirement,
// active and retired, in the order they were identified. A write is
// answered from it; TestWriteAnswersAsRead (cmd) holds the two renderings
// equal byte for byte.
func partyView(p *commands.PartyState) projections.PartyView {
	v := projections.PartyView{ID: string(p.ID), Version: p.Version, Name: p.Name, Category: p.Category,
		Scope: p.Scope, Description: p.Description, Owner: p.Owner, Influence: p.Influence,
		Interest: p.Interest, Status: p.Status, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
	if p.ParentID != nil {
		parent := string(*p.ParentID)
		v.ParentID = &parent
	}
	for _, rid := range p.Order {
		q, t := p.Requirements[rid], p.Times[rid]
		if q == nil {
			continue
		}
		v.Requirements = append(v.Requirements, projections.RequirementView{ID: string(q.ID),
			PartyID: string(p.ID), Kind: q.Kind, Title: q.Title, Description: q.Description,
			SourceType: q.SourceType, SourceRef: q.SourceRef, Owner: q.Owner, Priority: q.Priority,
			ReviewDue: q.ReviewDue, Addressed: q.Addressed, Rationale: q.Rationale,
			Treatment: q.Treatment, Controls: q.Controls, Status: q.Status,
			CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt})
	}
	return v
}

// writeParty answers with the party p: as the read model has it (reads), or
// as a command folded it (writes; the command service has already waited
// for the read model to apply the write, so a read right after shows it).
func (s *Server) writeParty(w http.ResponseWriter, r *http.Request, p projections.PartyView, status int) error {
	if p.Requirements == nil {
		p.Requirements = []projections.RequirementView{}
	}
	setETag(w, p.Version)
	if status == http.StatusCreated {
		w.Header().Set("Location", "/api/v1/parties/"+p.ID)
	}
	if s.Relationships != nil {
		return s.writePartyWithRelationships(w, r, status, p)
	}
	writeJSON(w, status, p)
	return nil
}

func (s *Server) handlePartyList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	pg, err := pageFromQuery(q)
	if err != nil {
		return err
	}
	lw := newListWriter(w, "parties")
	next, err := s.Reads.EachParty(r.Context(), projections.PartyFilter{
		Category: q.Get("category"), Scope: q.Get("scope"), Status: q.Get("status")}, pg,
		func(p projections.PartyView) error { return lw.item(p) })
	if err != nil {
		return err
	}
	link := ""
	if !next.IsZero() {
		link = nextLink(r, map[string]string{"cursor": next.String()})
	}
	return lw.end(link)
}

func (s *Server) handlePartyGet(w http.ResponseWriter, r *http.Request) error {
	if r.URL.Query().Has("as_of") {
		return s.writePartyAsOf(w, r, r.PathValue("id"))
	}
	p, err := s.Reads.Party(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.writeParty(w, r, p, http.StatusOK)
}

func (s *Server) handlePartyRevise(w http.ResponseWriter, r *http.Request) error {
	expect, d, err := conditionalBody(r, partyFields...)
	if err != nil {
		return err
	}
	cmd := domain.ReviseParty{
		Meta:        meta(r, d),
		PartyID:     domain.PartyID(r.PathValue("id")),
		Name:        d.strPtr("name"),
		Category:    d.strPtr("category"),
		Scope:       d.strPtr("scope"),
		Description: d.strPtr("description"),
		Owner:       d.strPtr("owner"),
		Influence:   d.intPtr("influence"),
		Interest:    d.intPtr("interest"),
	}
	if p := d.nullableStr("parent_id"); p != nil {
		id := domain.PartyID(*p)
		cmd.ParentID = &id
	}
	if err := d.err(); err != nil {
		return err
	}
	res, err := s.Commands.ReviseParty(r.Context(), cmd, expect)
	if err != nil {
		return err
	}
	return s.writeParty(w, r, partyView(res.Party), http.StatusOK)
}

func (s *Server) handlePartyRetire(w http.ResponseWriter, r *http.Request) error {
	expect, d, err := conditionalBody(r, "reason", "trigger")
	if err != nil {
		return err
	}
	cmd := domain.RetireParty{Meta: meta(r, d), PartyID: domain.PartyID(r.PathValue("id"))}
	if err := d.err(); err != nil {
		return err
	}
	res, err := s.Commands.RetireParty(r.Context(), cmd, expect)
	if err != nil {
		return err
	}
	return s.writeParty(w, r, partyView(res.Party), http.StatusOK)
}
