package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/partyledger/partyledger/handlers/auth"
)

// MaxPageSize is the largest page any list endpoint returns.
const MaxPageSize = 500

func (s *Server) accessRoutes() []route {
	if s.Access == nil {
		return nil
	}
	return []route{
		{"GET", "/api/v1/audit/access", auth.PermAudit, s.handleAccessLog},
	}
}

// handleAccessLog answers the security log: denied requests, oldest first,
// paged by id (?after=&limit=), filtered by outcome, actor, client, from, to.
func (s *Server) handleAccessLog(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var aq auth.AccessQuery
	var err error
	if aq.After, err = intParam(q.Get("after"), "after", 0); err != nil {
		return err
	}
	limit, err := limitParam(q.Get("limit"))
	if err != nil {
		return err
	}
	aq.Limit = limit
	aq.Outcome, aq.Actor, aq.Client = q.Get("outcome"), q.Get("actor"), q.Get("client")
	if aq.From, err = timeParam(q.Get("from"), "from"); err != nil {
		return err
	}
	if aq.To, err = timeParam(q.Get("to"), "to"); err != nil {
		return err
	}
	entries, err := s.Access.Query(r.Context(), aq)
	if err != nil {
		return err
	}
	var next *string
	if len(entries) == limit {
		n := strconv.FormatInt(entries[len(entries)-1].ID, 10)
		next = &n
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries, "next": next})
	return nil
}

// limitParam parses a page size: default 100, at most MaxPageSize.
func limitParam(v string) (int, error) {
	if v == "" {
		return 100, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxPageSize {
		return 0, badParam("limit", "must be a whole number from 1 to "+strconv.Itoa(MaxPageSize))
	}
	return n, nil
}

func intParam(v, name string, def int64) (int64, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, badParam(name, "must be a whole number >= 0")
	}
	return n, nil
}

func timeParam(v, name string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, badParam(name, "must be an RFC 3339 time, such as 2026-01-31T09:00:00Z")
	}
	return t.UTC(), nil
}
