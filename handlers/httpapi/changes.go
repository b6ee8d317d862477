package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
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
	// Next is the relative URL of the next page; absent on the last page.
	Next string `json:"next,omitempty"`
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
	limit, err := pageLimit(q)
	if err != nil {
		return err
	}
	cur, err := parseChangeCursor(q.Get("cursor"))
	if err != nil {
		return err
	}
	win, since, until, err := Window(r.Context(), s.Reads, q.Get("since"), q.Get("until"))
	if err != nil {
		return err
	}
	if cur != nil {
		// Later pages read the window the first page pinned, whatever
		// has been appended or reviewed since.
		win.After, win.Until = cur.After, cur.Until
	} else if win.Until == 0 {
		// No upper bound (until a time): pin the end so that every page
		// reads the same window.
		if win.Until, err = s.Reads.Checkpoint(r.Context()); err != nil {
			return err
		}
		if win.Until == 0 {
			win.Until = -1
		}
	}
	lw := newListWriter(w, "items", member{"since", since}, member{"until", until}, member{"view", view})
	next := changeCursor{Until: win.Until}
	more := false
	if view == "net" {
		next.Offset = cur.offset()
		if win.Until >= 0 {
			var items []projections.NetItem
			var n int
			if items, n, err = s.Reads.NetPage(r.Context(), win, next.Offset, limit); err != nil {
				return err
			}
			for _, it := range items {
				if err := lw.item(it); err != nil {
					return err
				}
			}
			next.After, next.Offset, more = win.After, n, n > 0
		}
	} else if win.Until >= 0 {
		win.Limit = limit + 1
		n := 0
		err = s.Reads.EachChange(r.Context(), win, func(it projections.ChangeItem) error {
			if n == limit {
				more = true
				return nil
			}
			n++
			next.After = it.Position
			return lw.item(it)
		})
		if err != nil {
			return err
		}
	}
	link := ""
	if more {
		link = nextLink(r, map[string]string{"cursor": next.String()})
	}
	return lw.end(link)
}

// changeCursor is where a page of the change feed ended: the window the
// first page pinned (After moving on with each detailed page), and for the
// net view the number of groups already shown.
type changeCursor struct {
	After  int64 `json:"a"`
	Until  int64 `json:"u"`
	Offset int   `json:"o,omitempty"`
}

func (c *changeCursor) offset() int {
	if c == nil {
		return 0
	}
	return c.Offset
}

// String encodes c for a next link (unpadded base64url of JSON).
func (c changeCursor) String() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// parseChangeCursor decodes [changeCursor.String]: nil for "", EINVALID for
// anything malformed.
func parseChangeCursor(s string) (*changeCursor, error) {
	if s == "" {
		return nil, nil
	}
	var c changeCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil || c.After < 0 || c.Offset < 0 || c.Until == 0 || c.Until < -1 {
		return nil, badParam("cursor", "must be the cursor of a next link")
	}
	return &c, nil
}
