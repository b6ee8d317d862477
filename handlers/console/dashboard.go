package console

import (
	"net/http"

	"github.com/partyledger/partyledger/projections"
)

type dashboard struct {
	Parties, Internal, External int
	Requirements, Expectations  int
	Undecided                   []reqRef
	UndecidedCount              int // all of them; Undecided lists the first 10
	Due                         []reqRef
	LastReview                  *projections.ReviewView
	Changes                     int
	Recent                      []projections.ChangeItem
	Head                        int64
	// Actions are the open management-review actions, due first; Overdue
	// counts those past their due date.
	Actions []projections.ActionView
	Overdue int
	// Reminders are the failed and the last sent reminder digests (nil
	// when the console has no ReminderLog).
	Reminders *dashboardReminders
}

// reqRef is a requirement with its party's name, for lists.
type reqRef struct {
	Party projections.PartyView
	Req   projections.RequirementView
}

// handleDashboard shows the register at a glance and what needs attention.
func (s *Server) handleDashboard(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	ps, err := s.Reads.Register(ctx, projections.PartyFilter{})
	if err != nil {
		return err
	}
	d := dashboard{Parties: len(ps)}
	soon := s.now().AddDate(0, 0, 30).Format("2006-01-02")
	for _, p := range ps {
		if p.Scope == "internal" {
			d.Internal++
		} else {
			d.External++
		}
		for _, q := range p.Requirements {
			if q.Kind == "requirement" {
				d.Requirements++
			} else {
				d.Expectations++
			}
			if q.Addressed == nil {
				d.Undecided = append(d.Undecided, reqRef{p, q})
			}
			if q.ReviewDue != nil && *q.ReviewDue <= soon {
				d.Due = append(d.Due, reqRef{p, q})
			}
		}
	}
	if rv, ok, err := s.Reads.LastReview(ctx); err != nil {
		return err
	} else if ok {
		d.LastReview = &rv
	}
	items, _, _, err := s.changesIn(ctx, "", "")
	if err != nil {
		return err
	}
	d.Changes = len(items)
	for i := len(items) - 1; i >= 0 && len(d.Recent) < 5; i-- {
		d.Recent = append(d.Recent, items[i])
	}
	if d.Head, err = s.Reads.Checkpoint(ctx); err != nil {
		return err
	}
	if s.Plans != nil {
		if d.Actions, err = s.Plans.Actions(ctx, projections.ActionsOpen, s.now().Format("2006-01-02")); err != nil {
			return err
		}
		for _, a := range d.Actions {
			if a.Overdue {
				d.Overdue++
			}
		}
	}
	if d.Reminders, err = s.dashboardReminders(ctx); err != nil {
		return err
	}
	d.UndecidedCount = len(d.Undecided)
	if len(d.Undecided) > 10 {
		d.Undecided = d.Undecided[:10]
	}
	if len(d.Actions) > 10 {
		d.Actions = d.Actions[:10]
	}
	if len(d.Due) > 10 {
		d.Due = d.Due[:10]
	}
	return s.render(w, r, http.StatusOK, "dashboard", "Dashboard", d)
}
