package console

import (
	"net/http"
	"slices"

	"github.com/partyledger/partyledger/projections"
)

type partyPage struct {
	Party   projections.PartyView
	Parent  *projections.PartyView
	History []projections.ChangeItem
	// Saved is a confirmation after a write ("saved", "created").
	Saved string
	// Decide is the requirement whose addressing-decision form is open
	// (?decide=, from the dashboard's "Needs a decision").
	Decide string
}

// handlePartyShow shows one party with its requirements, addressing
// decisions and history, newest first.
func (s *Server) handlePartyShow(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p, err := s.Reads.Party(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	pg := partyPage{Party: p, Saved: r.URL.Query().Get("saved"), Decide: r.URL.Query().Get("decide")}
	if p.ParentID != nil {
		if pp, err := s.Reads.Party(ctx, *p.ParentID); err == nil {
			pg.Parent = &pp
		}
	}
	if s.Audit != nil {
		h, err := s.Audit.History(ctx, p.ID, "")
		if err != nil {
			return err
		}
		slices.Reverse(h)
		pg.History = h
	}
	return s.render(w, r, http.StatusOK, "party", p.Name, pg)
}
