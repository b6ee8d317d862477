package console

import (
	"context"
	"net/http"
	"slices"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/projections"
)

// handlePartyUpdate takes the edit form. The revision carries the version
// the form was opened at: if someone else saved since, nothing is written
// and the form comes back showing what they changed, with this user's
// changes kept, to be re-applied with one more save.
func (s *Server) handlePartyUpdate(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	id := r.PathValue("id")
	version, err := formVersion(r.PostForm.Get("version"))
	if err != nil {
		return err
	}
	f := decodePartyForm(r)
	f.ID, f.Version = id, *version
	cmd, err := f.revise(id, meta(r))
	if err == nil {
		_, err = s.Commands.ReviseParty(r.Context(), cmd, version)
	}
	if err == nil {
		http.Redirect(w, r, "/parties/"+id+"?saved=1#history", http.StatusSeeOther)
		return nil
	}
	status := http.StatusUnprocessableEntity
	if domain.ErrorCode(err) == domain.EPRECONDITION {
		status = http.StatusConflict
		if err := s.rebaseParty(r.Context(), f, id, *version); err != nil {
			return err
		}
	} else if msgs, ok := fieldErrors(err); ok {
		f.Errors = msgs
	} else {
		return err
	}
	if f.Parents, err = s.parents(r, id); err != nil {
		return err
	}
	p, err := s.Reads.Party(r.Context(), id)
	if err != nil {
		return err
	}
	return s.render(w, r, status, "party_form", "Edit "+p.Name, partyEditPage{Form: f, Action: "/parties/" + id})
}

// rebaseParty loads the party as it is now and what was saved after the
// version the form was opened at, and moves the form onto it.
func (s *Server) rebaseParty(ctx context.Context, f *partyForm, id string, version int64) error {
	p, err := s.Reads.Party(ctx, id)
	if err != nil {
		return err
	}
	if s.Audit != nil {
		h, err := s.Audit.History(ctx, id, "")
		if err != nil {
			return err
		}
		// Without the items of other streams (relationships, reminders),
		// the history has one item per event of the party's stream, in
		// order: those after the form's version are the others' changes.
		h = slices.DeleteFunc(h, func(it projections.ChangeItem) bool {
			return it.Reminder != nil || it.Relationship != nil
		})
		if int64(len(h)) > version {
			f.Theirs = h[version:]
		}
	}
	f.rebase(p)
	return nil
}

// handlePartyRetire retires a party (reason and trigger required).
func (s *Server) handlePartyRetire(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	id := r.PathValue("id")
	version, err := formVersion(r.PostForm.Get("version"))
	if err != nil {
		return err
	}
	_, err = s.Commands.RetireParty(r.Context(), domain.RetireParty{Meta: meta(r), PartyID: domain.PartyID(id)}, version)
	if err == nil {
		http.Redirect(w, r, "/parties/"+id+"?saved=1#history", http.StatusSeeOther)
		return nil
	}
	return err
}
