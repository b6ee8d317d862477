package httpapi

import (
	"net/http"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/projections"
)

var requirementFields = []string{"kind", "title", "description", "source_type", "source_ref",
	"owner", "priority", "review_due", "reason", "trigger"}

var addressingFields = []string{"addressed", "rationale", "treatment", "controls"}

func (s *Server) handleRequirementCreate(w http.ResponseWriter, r *http.Request) error {
	expect, d, err := conditionalBody(r, append(requirementFields, addressingFields...)...)
	if err != nil {
		return err
	}
	cmd := domain.IdentifyRequirement{
		Meta:        meta(r, d),
		PartyID:     domain.PartyID(r.PathValue("id")),
		Kind:        d.str("kind"),
		Title:       d.str("title"),
		Description: d.str("description"),
		SourceType:  d.str("source_type"),
		SourceRef:   d.str("source_ref"),
		Owner:       d.str("owner"),
		Priority:    d.str("priority"),
		ReviewDue:   d.str("review_due"),
		Addressed:   d.boolOrNull("addressed"),
		Rationale:   d.str("rationale"),
		Treatment:   d.str("treatment"),
		Controls:    d.strings("controls"),
	}
	if err := d.err(); err != nil {
		return err
	}
	res, err := s.Commands.IdentifyRequirement(r.Context(), cmd, expect)
	if err != nil {
		return err
	}
	var rid string
	if len(res.Events) > 0 {
		rid = requirementIDOf(res.Events[0].Data)
	}
	w.Header().Set("Location", "/api/v1/parties/"+string(cmd.PartyID)+"/requirements/"+rid)
	return writeRequirement(w, partyView(res.Party), rid, http.StatusCreated)
}

// writeRequirement answers with one requirement of party p (as the read
// model has it, or as a command folded it), with the party's version as
// ETag.
func writeRequirement(w http.ResponseWriter, p projections.PartyView, rid string, status int) error {
	for _, req := range p.Requirements {
		if req.ID == rid {
			setETag(w, p.Version)
			writeJSON(w, status, req)
			return nil
		}
	}
	return domain.Errorf(domain.ENOTFOUND, "party %s has no requirement %s", p.ID, rid)
}

func (s *Server) handleRequirementList(w http.ResponseWriter, r *http.Request) error {
	p, err := s.Reads.Party(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	reqs := p.Requirements
	if reqs == nil {
		reqs = []projections.RequirementView{}
	}
	setETag(w, p.Version)
	writeJSON(w, http.StatusOK, map[string]any{"requirements": reqs})
	return nil
}

func (s *Server) handleRequirementGet(w http.ResponseWriter, r *http.Request) error {
	p, err := s.Reads.Party(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeRequirement(w, p, r.PathValue("rid"), http.StatusOK)
}

func (s *Server) handleRequirementRevise(w http.ResponseWriter, r *http.Request) error {
	expect, d, err := conditionalBody(r, append(requirementFields, addressingFields...)...)
	if err != nil {
		return err
	}
	for _, f := range addressingFields {
		if d.has(f) {
			d.fail(f, "is part of the addressing decision: POST it to .../addressing")
		}
	}
	md := meta(r, d)
	cmd := requirementRevision(d)
	cmd.Meta = md
	cmd.PartyID = domain.PartyID(r.PathValue("id"))
	cmd.RequirementID = domain.RequirementID(r.PathValue("rid"))
	if err := d.err(); err != nil {
		return err
	}
	res, err := s.Commands.ReviseRequirement(r.Context(), cmd, expect)
	if err != nil {
		return err
	}
	return writeRequirement(w, partyView(res.Party), string(cmd.RequirementID), http.StatusOK)
}

func (s *Server) handleRequirementRetire(w http.ResponseWriter, r *http.Request) error {
	expect, d, err := conditionalBody(r, "reason", "trigger")
	if err != nil {
		return err
	}
	cmd := domain.RetireRequirement{Meta: meta(r, d), PartyID: domain.PartyID(r.PathValue("id")),
		RequirementID: domain.RequirementID(r.PathValue("rid"))}
	if err := d.err(); err != nil {
		return err
	}
	res, err := s.Commands.RetireRequirement(r.Context(), cmd, expect)
	if err != nil {
		return err
	}
	return writeRequirement(w, partyView(res.Party), string(cmd.RequirementID), http.StatusOK)
}

func (s *Server) handleAddressingDecide(w http.ResponseWriter, r *http.Request) error {
	expect, d, err := conditionalBody(r, append(addressingFields, "reason", "trigger")...)
	if err != nil {
		return err
	}
	if !d.has("addressed") {
		d.fail("addressed", "is required: true, false or null (not yet decided)")
	}
	cmd := domain.DecideAddressing{
		Meta:          meta(r, d),
		PartyID:       domain.PartyID(r.PathValue("id")),
		RequirementID: domain.RequirementID(r.PathValue("rid")),
		Addressed:     d.boolOrNull("addressed"),
		Rationale:     d.str("rationale"),
		Treatment:     d.str("treatment"),
		Controls:      d.strings("controls"),
	}
	if err := d.err(); err != nil {
		return err
	}
	res, err := s.Commands.DecideAddressing(r.Context(), cmd, expect)
	if err != nil {
		return err
	}
	return writeRequirement(w, partyView(res.Party), string(cmd.RequirementID), http.StatusOK)
}
