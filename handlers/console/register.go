package console

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/httpapi"
	"github.com/partyledger/partyledger/projections"
)

// pageSize is the number of parties per register page.
const pageSize = 50

type registerPage struct {
	Q        url.Values
	Parties  []projections.PartyView
	Total    int
	Page     int
	Pages    int
	Sort     string
	AsOf     string // the as_of date, when the page shows the past
	PrevPage string
	NextPage string
	// FirstPage links back to the first page of a keyset-paged register
	// (cursor links go forward only).
	FirstPage string
	CSV       string
	XLSX      string // the workbook download; "" when imports are off or the page shows the past
}

// registerQuery reads the register page's filters; as_of=YYYY-MM-DD means
// the end of that day (UTC).
func registerQuery(q url.Values) (projections.PartyFilter, *projections.AsOf, error) {
	f := projections.PartyFilter{Category: q.Get("category"), Scope: q.Get("scope"), Status: q.Get("status")}
	v := q.Get("as_of")
	if v == "" {
		return f, nil, nil
	}
	d, err := time.Parse("2006-01-02", v)
	if err != nil {
		return f, nil, &domain.Error{Code: domain.EINVALID, Message: "invalid as_of",
			Fields: []domain.FieldError{{Field: "as_of", Message: "must be a date such as 2026-01-31"}}}
	}
	return f, &projections.AsOf{Time: d.Add(24*time.Hour - time.Nanosecond)}, nil
}

// filterParties applies the text search and the sort.
func filterParties(ps []projections.PartyView, text, sortBy string) []projections.PartyView {
	text = strings.ToLower(strings.TrimSpace(text))
	if text != "" {
		out := ps[:0:0]
		for _, p := range ps {
			if strings.Contains(strings.ToLower(p.Name+" "+p.Owner+" "+p.Description), text) {
				out = append(out, p)
				continue
			}
			for _, q := range p.Requirements {
				if strings.Contains(strings.ToLower(q.Title+" "+q.SourceRef), text) {
					out = append(out, p)
					break
				}
			}
		}
		ps = out
	}
	byName := func(a, b projections.PartyView) int {
		return cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	}
	switch sortBy {
	case "name":
		slices.SortStableFunc(ps, byName)
	case "category":
		slices.SortStableFunc(ps, func(a, b projections.PartyView) int { return cmp.Or(cmp.Compare(a.Category, b.Category), byName(a, b)) })
	case "influence":
		slices.SortStableFunc(ps, func(a, b projections.PartyView) int {
			return cmp.Or(cmp.Compare(b.Influence, a.Influence), byName(a, b))
		})
	case "interest":
		slices.SortStableFunc(ps, func(a, b projections.PartyView) int { return cmp.Or(cmp.Compare(b.Interest, a.Interest), byName(a, b)) })
	case "updated":
		slices.SortStableFunc(ps, func(a, b projections.PartyView) int { return b.UpdatedAt.Compare(a.UpdatedAt) })
	default: // register order, as the API and the SQL-paged page list it
		slices.SortStableFunc(ps, func(a, b projections.PartyView) int {
			return cmp.Or(cmp.Compare(scopeRank(a.Scope), scopeRank(b.Scope)), byName(a, b))
		})
	}
	return ps
}

// scopeRank is the register's first sort key: internal parties first.
func scopeRank(scope string) int {
	if scope == "internal" {
		return 0
	}
	return 1
}

// handleRegister shows the register as a table: filters, text search,
// sort, paging, downloads, and the past with ?as_of=DATE.
func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, at, err := registerQuery(q)
	if err != nil {
		return err
	}
	if at == nil && strings.TrimSpace(q.Get("q")) == "" && q.Get("sort") == "" {
		return s.registerPaged(w, r, q, f)
	}
	ps, err := s.register(r.Context(), f, at)
	if err != nil {
		return err
	}
	ps = filterParties(ps, q.Get("q"), q.Get("sort"))
	p := registerPage{Q: q, Total: len(ps), Sort: q.Get("sort"), AsOf: q.Get("as_of")}
	p.Pages = max(1, (len(ps)+pageSize-1)/pageSize)
	p.Page, _ = strconv.Atoi(q.Get("page"))
	p.Page = min(max(p.Page, 1), p.Pages)
	lo := (p.Page - 1) * pageSize
	p.Parties = ps[lo:min(lo+pageSize, len(ps))]
	if p.Page > 1 {
		p.PrevPage = queryWith(q, "page", strconv.Itoa(p.Page-1))
	}
	if p.Page < p.Pages {
		p.NextPage = queryWith(q, "page", strconv.Itoa(p.Page+1))
	}
	p.CSV = "/register.csv" + queryWith(q, "page", "")
	if s.Imports != nil && at == nil {
		p.XLSX = "/register.xlsx" + queryWith(q, "page", "")
	}
	title := "Register"
	if at != nil {
		title = "Register as it stood on " + p.AsOf
	}
	return s.render(w, r, http.StatusOK, "register", title, p)
}

// registerPaged serves the register's common view (today, register order,
// no text search) a page at a time from SQL, with keyset cursors as the
// API pages it: the page reads its 50 parties and a count, never the whole
// register. The page number rides along in the links for display only.
func (s *Server) registerPaged(w http.ResponseWriter, r *http.Request, q url.Values, f projections.PartyFilter) error {
	ctx := r.Context()
	after, err := projections.ParseCursor(q.Get("cursor"))
	if err != nil {
		return err
	}
	p := registerPage{Q: q}
	next, err := s.Reads.EachRegisterParty(ctx, f, projections.Page{After: after, Limit: pageSize}, func(v projections.PartyView) error {
		p.Parties = append(p.Parties, v)
		return nil
	})
	if err != nil {
		return err
	}
	if p.Total, err = s.Reads.CountParties(ctx, f); err != nil {
		return err
	}
	p.Pages = max(1, (p.Total+pageSize-1)/pageSize)
	p.Page = 1
	if !after.IsZero() {
		p.Page, _ = strconv.Atoi(q.Get("page"))
		p.Page = min(max(p.Page, 2), p.Pages)
		p.FirstPage = queryWith(q, "cursor", "")
	}
	if !next.IsZero() {
		v := url.Values{}
		for k, vs := range q {
			v[k] = append([]string(nil), vs...)
		}
		v.Set("cursor", next.String())
		v.Set("page", strconv.Itoa(p.Page+1))
		p.NextPage = "?" + v.Encode()
	}
	p.CSV = "/register.csv" + queryWith(q, "cursor", "")
	if s.Imports != nil {
		p.XLSX = "/register.xlsx" + queryWith(q, "cursor", "")
	}
	return s.render(w, r, http.StatusOK, "register", "Register", p)
}

// handleRegisterCSV downloads the register (with the page's filters) as
// the API's CSV.
func (s *Server) handleRegisterCSV(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, at, err := registerQuery(q)
	if err != nil {
		return err
	}
	ps, err := s.register(r.Context(), f, at)
	if err != nil {
		return err
	}
	ps = filterParties(ps, q.Get("q"), q.Get("sort"))
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="register.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	return httpapi.WriteRegisterCSV(w, ps)
}
