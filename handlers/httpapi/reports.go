package httpapi

import (
	"context"
	"net/http"

	"github.com/partyledger/partyledger/handlers/auth"
	"github.com/partyledger/partyledger/handlers/report"
)

// Reports builds the management review change report (implemented by
// *report.Builder).
type Reports interface {
	Build(ctx context.Context, req report.Request) (*report.Report, error)
}

// reportRoutes serves the clause 9.3.2 c) change report; none without a
// Reports dependency.
func (s *Server) reportRoutes() []route {
	if s.Reports == nil {
		return nil
	}
	return []route{
		{"GET", "/api/v1/reports/changes", auth.PermRead, s.handleReportChanges},
	}
}

// handleReportChanges answers GET /api/v1/reports/changes?since=&until=&format=
// with the report as a download: format md (default), html, pdf, csv or
// xlsx; since and until as for GET /api/v1/changes. The report is rendered
// in full before the first byte is sent, so a failure is a problem, not a
// truncated file.
func (s *Server) handleReportChanges(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	name := q.Get("format")
	if name == "" {
		name = string(report.Markdown)
	}
	f, err := report.ParseFormat(name)
	if err != nil {
		return err
	}
	rep, err := s.Reports.Build(r.Context(), report.Request{Since: q.Get("since"), Until: q.Get("until"),
		GeneratedBy: tokenFrom(r.Context()).Name})
	if err != nil {
		return err
	}
	return report.WriteHTTP(w, r, rep, f)
}
