package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/projections"
)

// Bound is one end of a change window as the response describes it.
type Bound struct {
	Kind     string                  `json:"kind"` // beginning | review | position | time | now
	Position int64                   `json:"position,omitempty"`
	Time     *time.Time              `json:"time,omitempty"`
	Review   *projections.ReviewView `json:"review,omitempty"`
}

// ChangesResponse is the body of GET /api/v1/changes.
type ChangesResponse struct {
	Since Bound  `json:"since"`
	Until Bound  `json:"until"`
	View  string `json:"view"`
	Items any    `json:"items"`
}

// Window resolves since/until expressions into a feed window. since:
// last-review (default; the beginning when no review was held), beginning,
// review:<id>, position:<n>, time:<RFC3339>. until: now (default),
// review:<id>, position:<n>, time:<RFC3339>. Windows exclude since and
// include until.
func Window(ctx context.Context, reads ReadModel, since, until string) (projections.Window, Bound, Bound, error) {
	var w projections.Window
	var sb, ub Bound
	switch kind, arg, _ := strings.Cut(since, ":"); kind {
	case "", "last-review":
		rv, ok, err := reads.LastReview(ctx)
		if err != nil {
			return w, sb, ub, err
		}
		if ok {
			w.After, sb = rv.Position, Bound{Kind: "review", Position: rv.Position, Review: &rv}
		} else {
			sb = Bound{Kind: "beginning"}
		}
	case "beginning":
		sb = Bound{Kind: "beginning"}
	case "review":
		rv, err := reads.Review(ctx, arg)
		if err != nil {
			return w, sb, ub, err
		}
		w.After, sb = rv.Position, Bound{Kind: "review", Position: rv.Position, Review: &rv}
	case "position":
		n, err := strconv.ParseInt(arg, 10, 64)
		if err != nil || n < 0 {
			return w, sb, ub, badParam("since", "position must be a whole number >= 0")
		}
		w.After, sb = n, Bound{Kind: "position", Position: n}
	case "time":
		t, err := time.Parse(time.RFC3339Nano, arg)
		if err != nil {
			return w, sb, ub, badParam("since", "time must be RFC 3339, such as 2026-01-31T09:00:00Z")
		}
		t = t.UTC()
		w.FromTime, sb = t, Bound{Kind: "time", Time: &t}
	default:
		return w, sb, ub, badParam("since", "must be last-review, beginning, review:<id>, position:<n> or time:<RFC3339>")
	}
	switch kind, arg, _ := strings.Cut(until, ":"); kind {
	case "", "now":
		cp, err := reads.Checkpoint(ctx)
		if err != nil {
			return w, sb, ub, err
		}
		w.Until, ub = cp, Bound{Kind: "now", Position: cp}
	case "review":
		rv, err := reads.Review(ctx, arg)
		if err != nil {
			return w, sb, ub, err
		}
		w.Until, ub = rv.Position, Bound{Kind: "review", Position: rv.Position, Review: &rv}
	case "position":
		n, err := strconv.ParseInt(arg, 10, 64)
		if err != nil || n < 0 {
			return w, sb, ub, badParam("until", "position must be a whole number >= 0")
		}
		w.Until, ub = n, Bound{Kind: "position", Position: n}
		if n == 0 {
			w.Until = -1 // nothing: position 0 is before the first event
		}
	case "time":
		t, err := time.Parse(time.RFC3339Nano, arg)
		if err != nil {
			return w, sb, ub, badParam("until", "time must be RFC 3339, such as 2026-01-31T09:00:00Z")
		}
		t = t.UTC()
		w.UntilTime, ub = t, Bound{Kind: "time", Time: &t}
	default:
		return w, sb, ub, badParam("until", "must be now, review:<id>, position:<n> or time:<RFC3339>")
	}
	return w, sb, ub, nil
}

func badParam(name, msg string) error {
	return &domain.Error{Code: domain.EINVALID, Message: "invalid query parameter",
		Fields: []domain.FieldError{{Field: name, Message: msg}}}
}

func (s *Server) handleChanges(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	view := q.Get("view")
	if view == "" {
		view = "detailed"
	}
	if view != "detailed" && view != "net" {
		return badParam("view", "must be detailed or net")
	}
	win, since, until, err := Window(r.Context(), s.Reads, q.Get("since"), q.Get("until"))
	if err != nil {
		return err
	}
	resp := ChangesResponse{Since: since, Until: until, View: view}
	var items []projections.ChangeItem
	if win.Until >= 0 {
		if items, err = s.Reads.Changes(r.Context(), win); err != nil {
			return err
		}
	}
	if items == nil {
		items = []projections.ChangeItem{}
	}
	if view == "net" {
		net := projections.NetChanges(items)
		if net == nil {
			net = []projections.NetItem{}
		}
		resp.Items = net
	} else {
		resp.Items = items
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}
