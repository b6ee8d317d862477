package httpapi

import (
	"bytes"
	"context"
	"mime"
	"net/http"
	"strconv"

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
	var buf bytes.Buffer
	if err := report.Render(&buf, rep, f); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", f.ContentType())
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": rep.FileName(f)}))
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if f == report.HTML {
		// The page is standalone: inline styles, nothing to load, nothing to run.
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'")
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
	return nil
}
