package console

import (
	"net/http"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/projections"
)

// partyEditPage is the data of the party form (new and edit).
type partyEditPage struct {
	Form   *partyForm
	New    bool
	Action string
}

// parents lists the active parties that can be a parent.
func (s *Server) parents(r *http.Request, except string) ([]projections.PartyView, error) {
	ps, err := s.Reads.Register(r.Context(), projections.PartyFilter{})
	if err != nil {
		return nil, err
	}
	out := ps[:0:0]
	for _, p := range filterParties(ps, "", "") {
		if p.ID != except {
			out = append(out, p)
		}
	}
	return out, nil
}

// handlePartyNew shows the form that adds a party.
func (s *Server) handlePartyNew(w http.ResponseWriter, r *http.Request) error {
	f := &partyForm{Influence: "3", Interest: "3", Category: "customer", Scope: "external", Trigger: domain.DefaultTrigger}
	var err error
	if f.Parents, err = s.parents(r, ""); err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "party_form", "Add an interested party", partyEditPage{Form: f, New: true, Action: "/parties"})
}
