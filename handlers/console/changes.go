package console

import (
	"net/http"
	"net/url"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/projections"
)

type changesPage struct {
	Q            url.Values
	View         string
	Since, Until projections.Bound
	Items        []projections.ChangeItem
	Net          []projections.NetItem
	Reviews      []projections.ReviewView
	SinceSel     string
	UntilSel     string
	Downloads    []download
}

type download struct{ Label, Href string }

// handleChanges shows the clause 9.3.2 c) feed: since the last review by
// default, or between any two reviews; detailed (every event) or net.
func (s *Server) handleChanges(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	view := q.Get("view")
	if view == "" {
		view = "detailed"
	}
	if view != "detailed" && view != "net" {
		return &domain.Error{Code: domain.EINVALID, Message: "invalid view",
			Fields: []domain.FieldError{{Field: "view", Message: "must be detailed or net"}}}
	}
	items, since, until, err := s.changesIn(r.Context(), q.Get("since"), q.Get("until"))
	if err != nil {
		return err
	}
	p := changesPage{Q: q, View: view, Since: since, Until: until, SinceSel: q.Get("since"), UntilSel: q.Get("until")}
	if view == "net" {
		p.Net = projections.NetChanges(items)
	} else {
		p.Items = items
	}
	if p.Reviews, err = s.Reads.Reviews(r.Context()); err != nil {
		return err
	}
	if s.Reports != nil {
		for _, f := range []struct{ label, format string }{{"PDF", "pdf"}, {"HTML", "html"}, {"Markdown", "md"}, {"CSV", "csv"}, {"XLSX", "xlsx"}} {
			v := url.Values{"format": {f.format}}
			if p.SinceSel != "" {
				v.Set("since", p.SinceSel)
			}
			if p.UntilSel != "" {
				v.Set("until", p.UntilSel)
			}
			p.Downloads = append(p.Downloads, download{f.label, "/changes/report?" + v.Encode()})
		}
	}
	return s.render(w, r, http.StatusOK, "changes", "Changes for the management review", p)
}
