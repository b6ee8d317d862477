package console

import "net/http"

// handlePartyEdit shows the form that revises a party. The form carries
// the version it was opened at and the values it started with.
func (s *Server) handlePartyEdit(w http.ResponseWriter, r *http.Request) error {
	p, err := s.Reads.Party(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	f := partyFormOf(p)
	if f.Parents, err = s.parents(r, p.ID); err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "party_form", "Edit "+p.Name, partyEditPage{Form: f, Action: "/parties/" + p.ID})
}
