package report

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/partyledger/partyledger/projections"
)

// Label turns a stored code such as regulatory_change or
// government_customer into words: "regulatory change".
func Label(code string) string {
	if code == "" {
		return "—"
	}
	return strings.ReplaceAll(code, "_", " ")
}

var fieldLabels = map[string]string{
	"name":        "name",
	"category":    "category",
	"scope":       "scope",
	"description": "description",
	"owner":       "owner",
	"influence":   "influence (1–5)",
	"interest":    "interest (1–5)",
	"parent_id":   "parent party",
	"status":      "status",
	"kind":        "kind",
	"title":       "title",
	"source_type": "source type",
	"source_ref":  "source reference",
	"priority":    "priority",
	"review_due":  "review due",
	"addressed":   "addressed (4.2 c)",
	"rationale":   "rationale",
	"treatment":   "treatment",
	"controls":    "controls",
	// requirement reviews, communications, objectives and KPIs
	"outcome":         "review outcome",
	"notes":           "notes",
	"plan_entry_id":   "plan entry",
	"sent_by":         "sent by",
	"evidence_ref":    "evidence",
	"sent_at":         "sent at",
	"requirement_ids": "requirements",
	"measured_at":     "measured at",
	"corrects":        "corrects measurement",
	// relationships
	"from_party_id": "from party",
	"to_party_id":   "to party",
	"label":         "label",
}

// FieldLabel is a field name as people read it.
func FieldLabel(field string) string {
	if l, ok := fieldLabels[field]; ok {
		return l
	}
	return Label(field)
}

// ChangeLabel describes the net change of an item, e.g. "Requirement added",
// "Expectation revised" or "Addressing decision (4.2 c) on requirement".
func ChangeLabel(it Item) string {
	noun := "Party"
	if it.Requirement != nil {
		noun = "Requirement"
		if it.Requirement.Kind == "expectation" {
			noun = "Expectation"
		}
	}
	switch it.Change {
	case projections.ChangeRelationshipEstablished:
		return "Relationship established"
	case projections.ChangeRelationshipRevised:
		return "Relationship revised"
	case projections.ChangeRelationshipEnded:
		return "Relationship ended"
	case projections.ChangeRelationshipEstablishedAndEnded:
		return "Relationship established and ended"
	case projections.ChangeRequirementReviewed:
		return noun + " reviewed"
	case projections.ChangeCommunicationPlanned:
		return "Communication planned"
	case projections.ChangeCommunicationSent:
		return "Communication sent"
	case projections.ChangeObjectiveAdded:
		return "Objective set"
	case projections.ChangeObjectiveRevised:
		return "Objective revised"
	case projections.ChangeKPIDefined:
		return "KPI defined"
	case projections.ChangeKPIRevised:
		return "KPI revised"
	case projections.ChangeKPIBelowTarget:
		return "KPI below target"
	case projections.ChangePartyAdded, projections.ChangeRequirementAdded:
		return noun + " added"
	case projections.ChangePartyRevised, projections.ChangeRequirementRevised:
		return noun + " revised"
	case projections.ChangePartyRetired, projections.ChangeRequirementRetired:
		return noun + " retired"
	case projections.ChangePartyAddedAndRetired, projections.ChangeRequirementAddedAndRetired:
		return noun + " added and retired"
	case projections.ChangeRequirementAddressingDecided:
		return "Addressing decision (4.2 c) on " + strings.ToLower(noun)
	}
	return noun + ": " + Label(it.Change)
}

// Subject is what an item is about: the requirement's title, the
// objective's title (and the KPI's name), the relationship in words ("Cloud
// provider supplies Customers"), or "" for the party itself.
func (it Item) Subject() string {
	switch {
	case it.Relationship != nil:
		return relationshipText(it.Relationship)
	case it.Requirement != nil:
		return it.Requirement.Title
	case it.Objective != nil && it.Objective.KPI != nil:
		return it.Objective.KPI.Name + " (objective: " + it.Objective.Title + ")"
	case it.Objective != nil:
		return it.Objective.Title
	}
	return ""
}

// Value formats a field value for people: "—" for nothing, "(empty)" for
// an empty text, yes/no/not yet decided for the 4.2 c) decision, lists
// joined with commas and a parent party by its name.
func (r *Report) Value(field string, v any) string {
	switch field {
	case "addressed":
		switch v {
		case true:
			return "yes"
		case false:
			return "no"
		case nil:
			return "not yet decided"
		}
	case "parent_id", "from_party_id", "to_party_id":
		if id, ok := v.(string); ok {
			if name := r.names[id]; name != "" {
				return name
			}
		}
	case "category", "scope", "kind", "source_type", "priority", "status", "outcome", "channel", "operator":
		if s, ok := v.(string); ok && s != "" {
			return Label(s)
		}
	}
	switch v := v.(type) {
	case nil:
		return "—"
	case string:
		if v == "" {
			return "(empty)"
		}
		return v
	case []string:
		if len(v) == 0 {
			return "(none)"
		}
		return strings.Join(v, ", ")
	}
	return RawValue(v)
}

// RawValue formats a field value for machines (CSV, XLSX): "" for nothing,
// true/false, lists joined with ", ", numbers in decimal.
func RawValue(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case []string:
		return strings.Join(v, ", ")
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = RawValue(e)
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprint(v)
}

// Positions formats event positions as "#12, #40".
func Positions(ps []int64) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = "#" + strconv.FormatInt(p, 10)
	}
	return strings.Join(parts, ", ")
}

// When formats a time for people, in UTC to the minute.
func When(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// BoundText describes one end of the window, e.g. `management review "Q1"
// held on 2026-03-12 (position 81)`.
func BoundText(b projections.Bound) string {
	switch b.Kind {
	case projections.BoundBeginning:
		return "the beginning of the log"
	case projections.BoundReview:
		if b.Review != nil {
			return fmt.Sprintf("management review %q held on %s (position %d)", b.Review.Title, b.Review.HeldOn, b.Position)
		}
		return fmt.Sprintf("management review at position %d", b.Position)
	case projections.BoundPosition:
		return fmt.Sprintf("position %d", b.Position)
	case projections.BoundTime:
		if b.Time != nil {
			return b.Time.UTC().Format(time.RFC3339)
		}
	case projections.BoundNow:
		return fmt.Sprintf("now (position %d)", b.Position)
	}
	return b.Kind
}

// WindowText describes the window: "after <since> up to and including
// <until>".
func (r *Report) WindowText() string {
	return "after " + BoundText(r.Since) + ", up to and including " + BoundText(r.Until)
}

// Scope is the scope of a party as a heading word.
func scopeTitle(internal bool) string {
	if internal {
		return "Internal parties"
	}
	return "External parties"
}

// FileName is the download name of the report in format f, e.g.
// partyledger-changes-review-2026-03-12-now-2026-11-02.pdf.
func (r *Report) FileName(f Format) string {
	return "partyledger-changes-" + fileToken(r.Since, r.GeneratedAt) + "-" + fileToken(r.Until, r.GeneratedAt) + "." + string(f)
}

func fileToken(b projections.Bound, at time.Time) string {
	var s string
	switch b.Kind {
	case projections.BoundReview:
		s = "review"
		if b.Review != nil {
			s += "-" + b.Review.HeldOn
		}
	case projections.BoundPosition:
		s = "position-" + strconv.FormatInt(b.Position, 10)
	case projections.BoundTime:
		if b.Time != nil {
			s = b.Time.UTC().Format("20060102T150405Z")
		}
	case projections.BoundNow:
		s = "now-" + at.UTC().Format("2006-01-02")
	default:
		s = b.Kind
	}
	return strings.Map(func(r rune) rune {
		if r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '.') {
			return r
		}
		return '_'
	}, s)
}

// name returns the name of a party of the register, or "" (for [Sentence]).
func (r *Report) name(id string) string { return r.names[id] }

// EventSentence says one event behind a change in plain language
// ([Sentence]), naming parties as the register did at the window's end.
func (r *Report) EventSentence(ci projections.ChangeItem) string { return Sentence(ci, r.name) }

// NetSentence says the net change of an item in plain language when it
// sums up more than one event (then who, why and what triggered it list
// every event's); "" otherwise, when the one event's sentence says it all.
func (r *Report) NetSentence(it Item) string {
	if len(it.Details) < 2 {
		return ""
	}
	ci := projections.ChangeItem{Party: it.Party, Requirement: it.Requirement, Objective: it.Objective,
		Relationship: it.Relationship, Change: it.Change}
	var actors, reasons, triggers []string
	for _, ev := range it.Events {
		actors = appendNew(actors, ev.Actor)
		if strings.TrimSpace(ev.Reason) != "" {
			reasons = appendNew(reasons, ev.Reason)
		}
		if ev.Trigger != "" {
			triggers = appendNew(triggers, ev.Trigger)
		}
	}
	ci.Actor, ci.Reason, ci.Trigger = joinAnd(actors), strings.Join(reasons, "; "), strings.Join(triggers, ", ")
	for _, fc := range it.Fields {
		ci.Changes = append(ci.Changes, projections.FieldChange{Field: fc.Field, From: fc.From, To: fc.To})
	}
	return "In sum: " + Sentence(ci, r.name)
}
