package console

import (
	"net/http"
	"strings"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/commands"
)

// handlePartyCreate takes the new-party form and, on success, redirects to
// the new party's page.
func (s *Server) handlePartyCreate(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := decodePartyForm(r)
	cmd, err := f.identify(meta(r))
	var res commands.Result
	if err == nil {
		res, err = s.Commands.IdentifyParty(r.Context(), cmd)
	}
	if err != nil {
		msgs, ok := fieldErrors(err)
		if !ok {
			return err
		}
		f.Errors = msgs
		if f.Parents, err = s.parents(r, ""); err != nil {
			return err
		}
		return s.render(w, r, http.StatusUnprocessableEntity, "party_form", "Add an interested party",
			partyEditPage{Form: f, New: true, Action: "/parties"})
	}
	id := strings.TrimPrefix(res.Stream, domain.PartyStreamPrefix)
	http.Redirect(w, r, "/parties/"+id+"?saved=created", http.StatusSeeOther)
	return nil
}
