package console

import (
	"net/http"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/projections"
)

type communicationsPage struct {
	Overdue []projections.PlanEntryView
	Sent    []projections.CommunicationView
}

// handleCommunications shows the communication plan's overdue entries and
// the log of communications sent (clause 7.4), newest first.
func (s *Server) handleCommunications(w http.ResponseWriter, r *http.Request) error {
	if s.Plans == nil {
		return domain.Errorf(domain.ENOTFOUND, "communications are not enabled on this server")
	}
	ctx := r.Context()
	var p communicationsPage
	var err error
	if p.Overdue, err = s.Plans.OverdueCommunications(ctx, "", s.now().Format("2006-01-02")); err != nil {
		return err
	}
	if p.Sent, err = s.Plans.Communications(ctx, projections.CommunicationFilter{}); err != nil {
		return err
	}
	for i, j := 0, len(p.Sent)-1; i < j; i, j = i+1, j-1 {
		p.Sent[i], p.Sent[j] = p.Sent[j], p.Sent[i]
	}
	return s.render(w, r, http.StatusOK, "communications", "Communications", p)
}
