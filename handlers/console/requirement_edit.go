package console

import (
	"net/http"

	"github.com/partyledger/partyledger/domain"
)

// handleRequirementEdit shows the form that revises a requirement.
func (s *Server) handleRequirementEdit(w http.ResponseWriter, r *http.Request) error {
	p, err := s.Reads.Party(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	for _, q := range p.Requirements {
		if q.ID == r.PathValue("rid") {
			f := requirementFormOf(p, q)
			return s.render(w, r, http.StatusOK, "requirement_form", "Revise “"+q.Title+"”",
				requirementPage{Party: p.Name, Form: f, Action: "/parties/" + p.ID + "/requirements/" + q.ID})
		}
	}
	return domain.Errorf(domain.ENOTFOUND, "no active requirement %s on this party", r.PathValue("rid"))
}

// handleRequirementUpdate takes the revision form. A stale version (the
// party changed since the form was opened) writes nothing and shows the
// form again with a notice.
func (s *Server) handleRequirementUpdate(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	id, rid := r.PathValue("id"), r.PathValue("rid")
	version, err := formVersion(r.PostForm.Get("version"))
	if err != nil {
		return err
	}
	f := decodeRequirementForm(r)
	f.PartyID, f.ID, f.Version = id, rid, *version
	_, err = s.Commands.ReviseRequirement(r.Context(), f.revise(id, rid, meta(r)), version)
	if err == nil {
		http.Redirect(w, r, "/parties/"+id+"?saved=1#history", http.StatusSeeOther)
		return nil
	}
	status := http.StatusUnprocessableEntity
	if domain.ErrorCode(err) == domain.EPRECONDITION {
		p, perr := s.Reads.Party(r.Context(), id)
		if perr != nil {
			return perr
		}
		status, f.Version = http.StatusConflict, p.Version
		f.Errors = map[string]string{"": "Someone else changed this party while you were editing. Your values are kept below; see the party's history, then save again to re-apply them."}
	} else if msgs, ok := fieldErrors(err); ok {
		f.Errors = msgs
	} else {
		return err
	}
	return s.render(w, r, status, "requirement_form", "Revise “"+f.Title+"”",
		requirementPage{Form: f, Action: "/parties/" + id + "/requirements/" + rid})
}

// handleAddressingDecide records whether a requirement is addressed
// through the ISMS.
func (s *Server) handleAddressingDecide(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	id, rid := r.PathValue("id"), r.PathValue("rid")
	version, err := formVersion(r.PostForm.Get("version"))
	if err != nil {
		return err
	}
	cmd, err := decodeAddressing(r, id, rid)
	if err != nil {
		return err
	}
	if _, err := s.Commands.DecideAddressing(r.Context(), cmd, version); err != nil {
		return err
	}
	http.Redirect(w, r, "/parties/"+id+"?saved=1#req-"+rid, http.StatusSeeOther)
	return nil
}

// handleRequirementRetire retires a requirement (reason and trigger asked).
func (s *Server) handleRequirementRetire(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	id, rid := r.PathValue("id"), r.PathValue("rid")
	version, err := formVersion(r.PostForm.Get("version"))
	if err != nil {
		return err
	}
	cmd := domain.RetireRequirement{Meta: meta(r), PartyID: domain.PartyID(id), RequirementID: domain.RequirementID(rid)}
	if _, err := s.Commands.RetireRequirement(r.Context(), cmd, version); err != nil {
		return err
	}
	http.Redirect(w, r, "/parties/"+id+"?saved=1#history", http.StatusSeeOther)
	return nil
}
