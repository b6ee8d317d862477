package report

import (
	"github.com/partyledger/partyledger/handlers/csvsafe"

	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/partyledger/partyledger/projections"
)

// ChangeColumns are the columns of the CSV report and of the XLSX Changes
// sheet: one row per net field change.
//
// positions and event_ids name the events in the window that changed the
// field, in log order; time is the time of the last of them; actor, trigger
// (joined with "; ") and reason (joined with " | ") list their distinct
// values in order. change is the net change of the item (party_added,
// requirement_revised, ...); from and to are the values at the start and at
// the end of the window ("" for none; lists joined with ", "). Rows of a
// relationship have its "from" party as party and name the relationship in
// relationship ("Cloud provider supplies Customers") and relationship_id;
// they come after the objectives, as in the report's body.
var ChangeColumns = []string{"positions", "time", "actor", "reason", "trigger",
	"party_id", "party_name", "party_scope", "party_category",
	"requirement_id", "requirement_title", "requirement_kind",
	"objective_id", "objective_title", "kpi_id", "kpi_name",
	"change", "field", "from", "to", "event_ids", "relationship_id", "relationship"}

// eachChangeRow calls fn with every row of [ChangeColumns], internal parties
// first, then objectives and KPIs; fn must not keep the slice. Values are
// raw, not yet defused.
func (r *Report) eachChangeRow(fn func(row []string) error) error {
	row := make([]string, len(ChangeColumns))
	others := []PartyChanges{{Items: r.Objectives}}
	var rels []PartyChanges
	for _, it := range r.Relationships {
		rels = append(rels, PartyChanges{Party: it.Party, Items: []Item{it}})
	}
	for _, group := range [][]PartyChanges{r.Internal, r.External, others, rels} {
		for _, pc := range group {
			for _, it := range pc.Items {
				fields := it.Fields
				if len(fields) == 0 {
					fields = []FieldChange{{Positions: eventPositions(it.Events)}}
				}
				for _, fc := range fields {
					fillRow(row, pc.Party, it, fc)
					if err := fn(row); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

func eventPositions(evs []projections.EventRef) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.Position
	}
	return out
}

func fillRow(row []string, p projections.PartyRef, it Item, fc FieldChange) {
	var positions, ids []string
	var actors, reasons, triggers []string
	var last time.Time
	for _, ev := range it.Events {
		if !slices.Contains(fc.Positions, ev.Position) {
			continue
		}
		positions = append(positions, strconv.FormatInt(ev.Position, 10))
		ids = append(ids, ev.EventID)
		actors = appendNew(actors, ev.Actor)
		reasons = appendNew(reasons, ev.Reason)
		triggers = appendNew(triggers, ev.Trigger)
		last = ev.Time
	}
	var rid, rtitle, rkind, oid, otitle, kid, kname, relID, rel string
	if q := it.Requirement; q != nil {
		rid, rtitle, rkind = q.ID, q.Title, q.Kind
	}
	if o := it.Objective; o != nil {
		oid, otitle = o.ID, o.Title
		if o.KPI != nil {
			kid, kname = o.KPI.ID, o.KPI.Name
		}
	}
	if it.Relationship != nil {
		relID, rel = it.Relationship.ID, relationshipText(it.Relationship)
	}
	ts := ""
	if !last.IsZero() {
		ts = last.UTC().Format(time.RFC3339)
	}
	copy(row, []string{strings.Join(positions, " "), ts, strings.Join(actors, "; "),
		strings.Join(reasons, " | "), strings.Join(triggers, "; "),
		p.ID, p.Name, p.Scope, p.Category, rid, rtitle, rkind, oid, otitle, kid, kname,
		it.Change, fc.Field, RawValue(fc.From), RawValue(fc.To), strings.Join(ids, " "), relID, rel})
}

func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// Defuse makes a cell safe to open in a spreadsheet; it is
// [csvsafe.Defuse], the one defuse every CSV and XLSX writer shares.
func Defuse(s string) string { return csvsafe.Defuse(s) }
