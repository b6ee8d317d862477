package console

import (
	"net/http"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/projections"
)

type dueReviewsPage struct {
	Owners []projections.OwnerReviews
	Until  string
	// Actions are the open management-review actions (overdue ones flagged).
	Actions []projections.ActionView
}

// handleReviewsDue lists the requirement reviews overdue or due within 30
// days, grouped by owner.
func (s *Server) handleReviewsDue(w http.ResponseWriter, r *http.Request) error {
	if s.Plans == nil {
		return domain.Errorf(domain.ENOTFOUND, "requirement reviews are not enabled on this server")
	}
	now := s.now()
	until := now.AddDate(0, 0, 30).Format("2006-01-02")
	owners, err := s.Plans.ReviewsDue(r.Context(), now.Format("2006-01-02"), until)
	if err != nil {
		return err
	}
	actions, err := s.Plans.Actions(r.Context(), projections.ActionsOpen, now.Format("2006-01-02"))
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "reviews_due", "Requirement reviews due",
		dueReviewsPage{Owners: owners, Until: until, Actions: actions})
}
