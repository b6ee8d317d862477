package httpapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/partyledger/partyledger/domain"
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
	return s.writeParty(w, r, partyIDOf(res.Stream), http.StatusCreated)
}

func partyIDOf(stream string) string { return strings.TrimPrefix(stream, domain.PartyStreamPrefix) }

// writeParty answers with the party as the read model has it now (the
// command service has already waited for it to apply the write).
func (s *Server) writeParty(w http.ResponseWriter, r *http.Request, id string, status int) error {
	p, err := s.Reads.Party(r.Context(), id)
	if err != nil {
		return err
	}
	if p.Requirements == nil {
		p.Requirements = []projections.RequirementView{}
	}
	setETag(w, p.Version)
	if status == http.StatusCreated {
		w.Header().Set("Location", "/api/v1/parties/"+id)
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
	return s.writeParty(w, r, r.PathValue("id"), http.StatusOK)
}

func (s *Server) handlePartyRevise(w http.ResponseWriter, r *http.Request) error {
	expect, err := ifMatch(r)
	if err != nil {
		return err
	}
	m, err := readBody(r, partyFields...)
	if err != nil {
		return err
	}
	d := &fieldDecoder{m: m}
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
	if _, err := s.Commands.ReviseParty(r.Context(), cmd, expect); err != nil {
		return err
	}
	return s.writeParty(w, r, string(cmd.PartyID), http.StatusOK)
}

func (s *Server) handlePartyRetire(w http.ResponseWriter, r *http.Request) error {
	expect, err := ifMatch(r)
	if err != nil {
		return err
	}
	m, err := readBody(r, "reason", "trigger")
	if err != nil {
		return err
	}
	d := &fieldDecoder{m: m}
	cmd := domain.RetireParty{Meta: meta(r, d), PartyID: domain.PartyID(r.PathValue("id"))}
	if err := d.err(); err != nil {
		return err
	}
	if _, err := s.Commands.RetireParty(r.Context(), cmd, expect); err != nil {
		return err
	}
	return s.writeParty(w, r, string(cmd.PartyID), http.StatusOK)
}
