package console

import (
	"net/http"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/report"
)

// handleReportDownload sends the change report (the API's report, built
// and rendered by package report) with the browser session: format pdf,
// html, md, csv or xlsx; since and until as on /changes.
func (s *Server) handleReportDownload(w http.ResponseWriter, r *http.Request) error {
	if s.Reports == nil {
		return domain.Errorf(domain.ENOTFOUND, "reports are not enabled on this server")
	}
	q := r.URL.Query()
	f, err := report.ParseFormat(q.Get("format"))
	if err != nil {
		return err
	}
	rep, err := s.Reports.Build(r.Context(), report.Request{Since: q.Get("since"), Until: q.Get("until"),
		GeneratedBy: userFrom(r.Context()).Name})
	if err != nil {
		return err
	}
	return report.WriteHTTP(w, r, rep, f)
}
