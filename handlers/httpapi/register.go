package httpapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/csvsafe"
	"github.com/partyledger/partyledger/projections"
)

// registerCSVHeader is the column list of the register as CSV: one row per
// active requirement, and one row for a party without any.
var registerCSVHeader = []string{"party_id", "party_name", "category", "scope", "party_owner",
	"influence", "interest", "parent_id", "party_status", "party_version", "requirement_id", "kind",
	"title", "description", "source_type", "source_ref", "requirement_owner", "priority",
	"review_due", "addressed", "rationale", "treatment", "controls"}

func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	format := q.Get("format")
	if format == "" && strings.Contains(r.Header.Get("Accept"), "text/csv") {
		format = "csv"
	}
	if format != "" && format != "json" && format != "csv" {
		return badParam("format", "must be json or csv")
	}
	ps, err := s.register(r, projections.PartyFilter{
		Category: q.Get("category"), Scope: q.Get("scope"), Status: q.Get("status")})
	if err != nil {
		return err
	}
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="register.csv"`)
		return WriteRegisterCSV(w, ps)
	}
	if ps == nil {
		ps = []projections.PartyView{}
	}
	for i := range ps {
		if ps[i].Requirements == nil {
			ps[i].Requirements = []projections.RequirementView{}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"parties": ps})
	return nil
}

// WriteRegisterCSV writes the register as CSV (RFC 4180) through
// [csvsafe.Writer]: every cell quoted and defused.
func WriteRegisterCSV(w http.ResponseWriter, ps []projections.PartyView) error {
	cw := csvsafe.NewWriter(w)
	if err := cw.Write(registerCSVHeader); err != nil {
		return err
	}
	for _, p := range ps {
		parent := ""
		if p.ParentID != nil {
			parent = *p.ParentID
		}
		head := []string{p.ID, p.Name, p.Category, p.Scope, p.Owner, strconv.Itoa(p.Influence),
			strconv.Itoa(p.Interest), parent, p.Status, strconv.FormatInt(p.Version, 10)}
		if len(p.Requirements) == 0 {
			if err := cw.Write(append(head, make([]string, 13)...)); err != nil {
				return err
			}
			continue
		}
		for _, q := range p.Requirements {
			due, addressed := "", "undecided"
			if q.ReviewDue != nil {
				due = *q.ReviewDue
			}
			if q.Addressed != nil {
				addressed = strconv.FormatBool(*q.Addressed)
			}
			row := append(append([]string{}, head...), q.ID, q.Kind, q.Title, q.Description,
				q.SourceType, q.SourceRef, q.Owner, q.Priority, due, addressed, q.Rationale,
				q.Treatment, strings.Join(q.Controls, " "))
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

var _ = domain.EINVALID
