package console

import (
	"net/http"
	"strings"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/projections"
)

type reviewsPage struct {
	Reviews []reviewRow
	Form    reviewForm
}

type reviewRow struct {
	projections.ReviewView
	// Since is the review before it (nil for the first): the window it
	// considered runs from there to this one.
	Since *projections.ReviewView
}

type reviewForm struct {
	HeldOn, Title, Attendees, Notes, Reason, Trigger string
	Errors                                           map[string]string
}

// handleReviews lists the management reviews, each with the window of
// changes it considered, and (for writers) the form to record one.
func (s *Server) handleReviews(w http.ResponseWriter, r *http.Request) error {
	p, err := s.reviewsPage(r)
	if err != nil {
		return err
	}
	p.Form = reviewForm{HeldOn: s.now().Format("2006-01-02"), Trigger: "management_review"}
	return s.render(w, r, http.StatusOK, "reviews", "Management reviews", p)
}

func (s *Server) reviewsPage(r *http.Request) (reviewsPage, error) {
	rs, err := s.Reads.Reviews(r.Context())
	if err != nil {
		return reviewsPage{}, err
	}
	var p reviewsPage
	for i := range rs {
		row := reviewRow{ReviewView: rs[i]}
		// Reviews come in log order; the one before considered up to here.
		for j := range rs {
			if rs[j].Position < rs[i].Position && (row.Since == nil || rs[j].Position > row.Since.Position) {
				row.Since = &rs[j]
			}
		}
		p.Reviews = append(p.Reviews, row)
	}
	return p, nil
}

// handleReviewCreate records a management review held.
func (s *Server) handleReviewCreate(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	pf := r.PostForm
	f := reviewForm{HeldOn: strings.TrimSpace(pf.Get("held_on")), Title: strings.TrimSpace(pf.Get("title")),
		Attendees: pf.Get("attendees"), Notes: strings.TrimSpace(pf.Get("notes")),
		Reason: strings.TrimSpace(pf.Get("reason")), Trigger: pf.Get("trigger")}
	var attendees []string
	for _, a := range strings.FieldsFunc(f.Attendees, func(r rune) bool { return r == ',' || r == '\n' }) {
		if a = strings.TrimSpace(a); a != "" {
			attendees = append(attendees, a)
		}
	}
	_, err := s.Commands.HoldManagementReview(r.Context(), domain.HoldManagementReview{Meta: meta(r),
		HeldOn: f.HeldOn, Title: f.Title, Attendees: attendees, Notes: f.Notes})
	if err == nil {
		http.Redirect(w, r, "/reviews", http.StatusSeeOther)
		return nil
	}
	msgs, ok := fieldErrors(err)
	if !ok {
		return err
	}
	f.Errors = msgs
	p, err := s.reviewsPage(r)
	if err != nil {
		return err
	}
	p.Form = f
	return s.render(w, r, http.StatusUnprocessableEntity, "reviews", "Management reviews", p)
}
