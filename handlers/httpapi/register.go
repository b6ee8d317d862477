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
	f := projections.PartyFilter{Category: q.Get("category"), Scope: q.Get("scope"), Status: q.Get("status")}
	if format == "xlsx" && s.Imports != nil {
		return s.handleRegisterXLSX(w, r, f)
	}
	if format != "" && format != "json" && format != "csv" {
		return badParam("format", "must be json, csv or xlsx")
	}
	var pg projections.Page
	if format != "csv" { // CSV is the whole register, streamed
		var err error
		if pg, err = pageFromQuery(q); err != nil {
			return err
		}
	}
	var out registerOut = newListWriter(w, "parties")
	if format == "csv" {
		out = &registerCSV{w: w}
	}
	next, err := s.eachRegisterParty(r, f, pg, out.party)
	if err != nil {
		return err
	}
	link := ""
	if !next.IsZero() {
		link = nextLink(r, map[string]string{"cursor": next.String()})
	}
	return out.end(link)
}

// registerOut is where the register is written, one party at a time.
type registerOut interface {
	party(p projections.PartyView) error
	end(next string) error
}

func (l *listWriter) party(p projections.PartyView) error {
	if p.Requirements == nil {
		p.Requirements = []projections.RequirementView{}
	}
	return l.item(p)
}

// registerCSV streams the register as CSV: the header before the first
// row, then the rows of each party as it is read.
type registerCSV struct {
	w  http.ResponseWriter
	cw *csvsafe.Writer
}

func (c *registerCSV) party(p projections.PartyView) error {
	if err := c.start(); err != nil {
		return err
	}
	return writeRegisterParty(c.cw, p)
}

// start sets the headers and writes the header row, once.
func (c *registerCSV) start() error {
	if c.cw != nil {
		return nil
	}
	c.w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	c.w.Header().Set("Content-Disposition", `attachment; filename="register.csv"`)
	c.cw = csvsafe.NewWriter(c.w)
	return c.cw.Write(registerCSVHeader)
}

func (c *registerCSV) end(string) error {
	if err := c.start(); err != nil { // an empty register: the header only
		return err
	}
	c.cw.Flush()
	return c.cw.Error()
}

// WriteRegisterCSV writes the register as CSV (RFC 4180) through
// [csvsafe.Writer]: every cell quoted and defused.
func WriteRegisterCSV(w http.ResponseWriter, ps []projections.PartyView) error {
	cw := csvsafe.NewWriter(w)
	if err := cw.Write(registerCSVHeader); err != nil {
		return err
	}
	for _, p := range ps {
		if err := writeRegisterParty(cw, p); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// writeRegisterParty writes the CSV rows of one party: one per active
// requirement, or one for a party without any.
func writeRegisterParty(cw *csvsafe.Writer, p projections.PartyView) error {
	parent := ""
	if p.ParentID != nil {
		parent = *p.ParentID
	}
	head := []string{p.ID, p.Name, p.Category, p.Scope, p.Owner, strconv.Itoa(p.Influence),
		strconv.Itoa(p.Interest), parent, p.Status, strconv.FormatInt(p.Version, 10)}
	if len(p.Requirements) == 0 {
		return cw.Write(append(head, make([]string, 13)...))
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
	return nil
}

var _ = domain.EINVALID
