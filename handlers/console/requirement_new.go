package console

import (
	"net/http"

	"github.com/partyledger/partyledger/domain"
)

type requirementPage struct {
	Party  string
	Form   *requirementForm
	New    bool
	Action string
}

// handleRequirementNew shows the form that adds a requirement or
// expectation to a party.
func (s *Server) handleRequirementNew(w http.ResponseWriter, r *http.Request) error {
	p, err := s.Reads.Party(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	f := &requirementForm{PartyID: p.ID, Version: p.Version, Kind: "requirement", SourceType: "contract",
		Priority: "medium", Trigger: domain.DefaultTrigger}
	return s.render(w, r, http.StatusOK, "requirement_form", "Add a requirement to "+p.Name,
		requirementPage{Party: p.Name, Form: f, New: true, Action: "/parties/" + p.ID + "/requirements"})
}

// handleRequirementCreate takes the new-requirement form.
func (s *Server) handleRequirementCreate(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	id := r.PathValue("id")
	f := decodeRequirementForm(r)
	f.PartyID = id
	_, err := s.Commands.IdentifyRequirement(r.Context(), f.identify(id, meta(r)), nil)
	if err == nil {
		http.Redirect(w, r, "/parties/"+id+"?saved=1", http.StatusSeeOther)
		return nil
	}
	msgs, ok := fieldErrors(err)
	if !ok {
		return err
	}
	f.Errors = msgs
	p, err := s.Reads.Party(r.Context(), id)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusUnprocessableEntity, "requirement_form", "Add a requirement to "+p.Name,
		requirementPage{Party: p.Name, Form: f, New: true, Action: "/parties/" + id + "/requirements"})
}
