package console

import (
	"net/http"
	"net/url"
	"strconv"

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
	// NextPage and FirstPage link the pages of a long window (query
	// strings); Shown is where this page starts, counted from 1.
	NextPage, FirstPage string
	Shown               int
}

// changesPageSize is the number of changes (or net groups) per page, as the
// API's default page.
const changesPageSize = 100

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
	ctx := r.Context()
	win, since, until, err := projections.ResolveWindow(ctx, s.Reads, q.Get("since"), q.Get("until"))
	if err != nil {
		return err
	}
	p := changesPage{Q: q, View: view, Since: since, Until: until, SinceSel: q.Get("since"), UntilSel: q.Get("until"), Shown: 1}
	if win.Until == 0 {
		// Pin the end so that every page reads the same window; later
		// pages carry it (upto), never beyond what the log holds now.
		if win.Until, err = s.Reads.Checkpoint(ctx); err != nil {
			return err
		}
		if up, ok := posParam(q, "upto"); ok && up > win.After && up <= win.Until {
			win.Until = up
		}
		if win.Until == 0 {
			win.Until = -1
		}
	}
	if win.Until > 0 {
		next := url.Values{}
		for k, vs := range q {
			next[k] = append([]string(nil), vs...)
		}
		next.Set("upto", strconv.FormatInt(win.Until, 10))
		if view == "net" {
			off, _ := posParam(q, "offset")
			off = max(off, 0)
			var n int
			if p.Net, n, err = s.Reads.NetPage(ctx, win, int(off), changesPageSize); err != nil {
				return err
			}
			p.Shown = int(off) + 1
			if n > 0 {
				next.Set("offset", strconv.Itoa(n))
				p.NextPage = "?" + next.Encode()
			}
		} else {
			if a, ok := posParam(q, "after"); ok && a > win.After && a < win.Until {
				win.After = a
				p.Shown, _ = strconv.Atoi(q.Get("shown"))
				p.Shown = max(p.Shown, 1)
			}
			win.Limit = changesPageSize + 1
			err = s.Reads.EachChange(ctx, win, func(it projections.ChangeItem) error {
				p.Items = append(p.Items, it)
				return nil
			})
			if err != nil {
				return err
			}
			if len(p.Items) > changesPageSize {
				p.Items = p.Items[:changesPageSize]
				next.Set("after", strconv.FormatInt(p.Items[len(p.Items)-1].Position, 10))
				next.Set("shown", strconv.Itoa(p.Shown+changesPageSize))
				p.NextPage = "?" + next.Encode()
			}
		}
		if p.Shown > 1 {
			first := url.Values{}
			for k, vs := range q {
				if k != "after" && k != "offset" && k != "shown" {
					first[k] = vs
				}
			}
			p.FirstPage = "?" + first.Encode()
		}
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

// posParam reads a non-negative integer query parameter (a log position
// or an offset); ok is false when it is absent or not such a number.
func posParam(q url.Values, key string) (int64, bool) {
	n, err := strconv.ParseInt(q.Get(key), 10, 64)
	return n, err == nil && n >= 0
}
