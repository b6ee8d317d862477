package httpapi

import (
	"context"
	"net/http"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/projections"
)

// Bound is one end of a change window as the response describes it.
type Bound = projections.Bound

// ChangesResponse is the body of GET /api/v1/changes.
type ChangesResponse struct {
	Since Bound  `json:"since"`
	Until Bound  `json:"until"`
	View  string `json:"view"`
	Items any    `json:"items"`
}

// Window resolves since/until expressions into a feed window; see
// [projections.ResolveWindow], which the change report shares.
func Window(ctx context.Context, reads ReadModel, since, until string) (projections.Window, Bound, Bound, error) {
	return projections.ResolveWindow(ctx, reads, since, until)
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
