package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/diagrams"
	"github.com/partyledger/partyledger/projections"
)

// Sentence says one change of the feed in plain language, the way a board
// paper would: who did what to which party, from what to what, why and
// triggered by what. For example:
//
//	Head of Sales raised the influence of Regulator X from medium to high
//	(reason: new NIS2 scope; trigger: regulatory change).
//
// It is the one wording of a change: the report's formats use it for every
// event (the detailed view) and, through [Item.Sentence], for every net
// change, and the console can use it for its change pages. names turns a
// party id into its name (for parent_id); it may be nil, and an id it does
// not know is shown as "another party".
func Sentence(it projections.ChangeItem, names func(partyID string) string) string {
	s := sentenceBody(it, names)
	var why []string
	if r := strings.TrimRight(strings.Join(strings.Fields(it.Reason), " "), "."); r != "" {
		why = append(why, "reason: "+r)
	}
	if it.Trigger != "" {
		why = append(why, "trigger: "+Label(it.Trigger))
	}
	if len(why) > 0 {
		s += " (" + strings.Join(why, "; ") + ")"
	}
	return s + "."
}

// sentenceBody is the sentence without its reason and trigger.
func sentenceBody(it projections.ChangeItem, names func(string) string) string {
	who := strings.TrimSpace(it.Actor)
	if who == "" {
		who = "Someone"
	}
	party := it.Party.Name
	if party == "" {
		party = "a party"
	}
	req := ""
	if q := it.Requirement; q != nil {
		req = fmt.Sprintf("the %s %s", kindNoun(q.Kind), quote(q.Title))
	}
	val := func(field string, v any) string { return plainValue(field, v, names) }
	switch it.Change {
	case projections.ChangePartyAdded:
		return fmt.Sprintf("%s added %s, %s, to the register%s", who, party, partyKind(it.Party), fieldsNote(it.Changes, val,
			"owner", "influence", "interest", "parent_id"))
	case projections.ChangePartyRetired:
		return fmt.Sprintf("%s retired %s from the register", who, party)
	case projections.ChangePartyAddedAndRetired:
		return fmt.Sprintf("%s added %s to the register and retired it again", who, party)
	case projections.ChangePartyRevised:
		return who + " " + revisions(it.Changes, "", party, val)
	case projections.ChangeRequirementAdded:
		return fmt.Sprintf("%s added %s to %s%s", who, req, party, fieldsNote(it.Changes, val,
			"priority", "owner", "source_ref", "review_due"))
	case projections.ChangeRequirementRetired:
		return fmt.Sprintf("%s retired %s of %s", who, req, party)
	case projections.ChangeRequirementAddedAndRetired:
		return fmt.Sprintf("%s added %s to %s and retired it again", who, req, party)
	case projections.ChangeRequirementRevised:
		return who + " " + revisions(it.Changes, req, party, val)
	case projections.ChangeRequirementAddressingDecided:
		return who + " " + addressing(it.Changes, req, party, val)
	case projections.ChangeRequirementReviewed:
		return fmt.Sprintf("%s reviewed %s of %s%s", who, req, party, fieldsNote(it.Changes, val, "outcome", "notes"))
	case projections.ChangeRelationshipEstablished:
		return fmt.Sprintf("%s recorded that %s", who, relationshipText(it.Relationship))
	case projections.ChangeRelationshipEnded:
		return fmt.Sprintf("%s ended the relationship: %s", who, relationshipText(it.Relationship))
	case projections.ChangeRelationshipEstablishedAndEnded:
		return fmt.Sprintf("%s recorded and ended again the relationship: %s", who, relationshipText(it.Relationship))
	case projections.ChangeRelationshipRevised:
		return fmt.Sprintf("%s revised the relationship between %s: %s", who, relationshipEnds(it.Relationship),
			fieldList(it.Changes, val))
	case projections.ChangeCommunicationPlanned:
		return fmt.Sprintf("%s planned a communication with %s%s", who, party, fieldsNote(it.Changes, val, "topic", "channel", "when"))
	case projections.ChangeCommunicationSent:
		return fmt.Sprintf("%s recorded a communication sent to %s%s", who, party, fieldsNote(it.Changes, val, "channel", "summary"))
	case projections.ChangeObjectiveAdded:
		if o := it.Objective; o != nil {
			return fmt.Sprintf("%s set the objective %s%s", who, quote(o.Title), fieldsNote(it.Changes, val, "owner", "due"))
		}
	case projections.ChangeObjectiveRevised:
		if o := it.Objective; o != nil {
			return fmt.Sprintf("%s revised the objective %s: %s", who, quote(o.Title), fieldList(it.Changes, val))
		}
	case projections.ChangeKPIDefined:
		if o := it.Objective; o != nil && o.KPI != nil {
			return fmt.Sprintf("%s defined the KPI %s of the objective %s%s", who, quote(o.KPI.Name), quote(o.Title),
				fieldsNote(it.Changes, val, "operator", "target", "unit", "frequency"))
		}
	case projections.ChangeKPIRevised:
		if o := it.Objective; o != nil && o.KPI != nil {
			return fmt.Sprintf("%s revised the KPI %s of the objective %s: %s", who, quote(o.KPI.Name), quote(o.Title),
				fieldList(it.Changes, val))
		}
	case projections.ChangeKPIBelowTarget:
		if o := it.Objective; o != nil && o.KPI != nil {
			return fmt.Sprintf("%s recorded a measurement of the KPI %s of the objective %s that misses its target%s",
				who, quote(o.KPI.Name), quote(o.Title), fieldsNote(it.Changes, val, "value", "measured_at"))
		}
	}
	// Kinds this code does not know yet.
	what := strings.ToLower(ChangeLabel(Item{Requirement: it.Requirement, Objective: it.Objective, Change: it.Change}))
	subject := Item{Requirement: it.Requirement, Objective: it.Objective}.Subject()
	if subject == "" && it.Objective == nil {
		subject = party
	}
	s := fmt.Sprintf("%s: %s", who, what)
	if subject != "" {
		s += " " + quote(subject)
	}
	if l := fieldList(it.Changes, val); l != "" {
		s += " (" + l + ")"
	}
	return s
}

// levelWords are the 1–5 scores of influence and interest in words.
var levelWords = []string{"", "very low", "low", "medium", "high", "very high"}

// revisions says what a revision changed: each field as a clause, joined
// with "and". subject is the requirement ("" for the party itself).
func revisions(cs []projections.FieldChange, subject, party string, val func(string, any) string) string {
	of := subject + " of " + party
	if subject == "" {
		of = party
	}
	var clauses []string
	for i, fc := range cs {
		// "the influence of Regulator X", then "its interest".
		the := func(field string) string {
			if i == 0 {
				return "the " + field + " of " + of
			}
			return "its " + field
		}
		field := plainField(fc.Field)
		from, to := val(fc.Field, fc.From), val(fc.Field, fc.To)
		switch {
		case fc.Field == "name" && subject == "":
			clauses = append(clauses, fmt.Sprintf("renamed %s to %s", from, to))
			continue
		case fc.Field == "title" && subject != "":
			clauses = append(clauses, fmt.Sprintf("retitled %s (was %s)", of, from))
			continue
		case fc.From == nil || isEmpty(fc.From):
			clauses = append(clauses, fmt.Sprintf("set %s to %s", the(field), to))
			continue
		case fc.To == nil || isEmpty(fc.To):
			clauses = append(clauses, fmt.Sprintf("removed %s (was %s)", the(field), from))
			continue
		}
		verb := "changed"
		if d := direction(fc); d != 0 {
			verb = "raised"
			if d < 0 {
				verb = "lowered"
			}
		}
		clauses = append(clauses, fmt.Sprintf("%s %s from %s to %s", verb, the(field), from, to))
	}
	if len(clauses) == 0 {
		return "revised " + of
	}
	return joinAnd(clauses)
}

// direction is +1 when an ordered value (a 1–5 score, a priority) went up,
// -1 when it went down, 0 otherwise.
func direction(fc projections.FieldChange) int {
	switch fc.Field {
	case "influence", "interest":
		a, okA := score(fc.From)
		b, okB := score(fc.To)
		if okA && okB && a != b {
			if b > a {
				return 1
			}
			return -1
		}
	case "priority":
		a, _ := fc.From.(string)
		b, _ := fc.To.(string)
		i, j := slices.Index(domain.Priorities, a), slices.Index(domain.Priorities, b)
		if i >= 0 && j >= 0 && i != j {
			if j > i {
				return 1
			}
			return -1
		}
	}
	return 0
}

func score(v any) (int, bool) {
	switch v := v.(type) {
	case int:
		return v, true
	case int64:
		return int(v), true
	case float64:
		return int(v), v == float64(int(v))
	}
	return 0, false
}

// addressing says a clause 4.2 c) decision.
func addressing(cs []projections.FieldChange, req, party string, val func(string, any) string) string {
	var decided *projections.FieldChange
	var rest []projections.FieldChange
	for i, fc := range cs {
		if fc.Field == "addressed" {
			decided = &cs[i]
		} else {
			rest = append(rest, fc)
		}
	}
	s := ""
	switch {
	case decided != nil && decided.To == true:
		s = fmt.Sprintf("decided that %s of %s is addressed through the ISMS", req, party)
	case decided != nil && decided.To == false:
		s = fmt.Sprintf("decided that %s of %s is not addressed through the ISMS", req, party)
	case decided != nil:
		s = fmt.Sprintf("reopened the decision whether %s of %s is addressed through the ISMS", req, party)
	default:
		s = fmt.Sprintf("revised the reasons for the decision on %s of %s", req, party)
	}
	if decided != nil && decided.From != nil && decided.To != nil {
		s += fmt.Sprintf(" (it was %s)", val("addressed", decided.From))
	}
	var parts []string
	for _, fc := range rest {
		if fc.To != nil && !isEmpty(fc.To) {
			parts = append(parts, plainField(fc.Field)+": "+val(fc.Field, fc.To))
		}
	}
	if len(parts) > 0 {
		s += "; " + strings.Join(parts, "; ")
	}
	return s
}

// fieldsNote lists the given fields that have a value after the change, as
// ", with owner CISO and priority high"; "" when none has one.
func fieldsNote(cs []projections.FieldChange, val func(string, any) string, fields ...string) string {
	var parts []string
	for _, f := range fields {
		for _, fc := range cs {
			if fc.Field == f && fc.To != nil && !isEmpty(fc.To) {
				parts = append(parts, plainField(f)+" "+val(f, fc.To))
			}
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return ", with " + joinAnd(parts)
}

// fieldList says every field change as "field from X to Y", joined with
// "and".
func fieldList(cs []projections.FieldChange, val func(string, any) string) string {
	var parts []string
	for _, fc := range cs {
		switch {
		case fc.From == nil || isEmpty(fc.From):
			parts = append(parts, plainField(fc.Field)+" "+val(fc.Field, fc.To))
		default:
			parts = append(parts, fmt.Sprintf("%s from %s to %s", plainField(fc.Field), val(fc.Field, fc.From), val(fc.Field, fc.To)))
		}
	}
	return joinAnd(parts)
}

// relationshipText says a relationship as a sentence: "Cloud provider
// supplies Customers", "Cloud provider hosts customer data for Customers"
// (an "other" relationship says its label), "PayFlow supplies Employees
// (payroll)".
func relationshipText(r *projections.RelationshipRef) string {
	if r == nil {
		return "a relationship"
	}
	from, to := orParty(r.FromPartyName), orParty(r.ToPartyName)
	if r.Kind == domain.RelationshipKindOther && r.Label != "" {
		return from + " " + r.Label + " " + to
	}
	s := from + " " + diagrams.KindText(r.Kind, "") + " " + to
	if r.Label != "" {
		s += " (" + r.Label + ")"
	}
	return s
}

// relationshipEnds names the two ends of a relationship: "A and B".
func relationshipEnds(r *projections.RelationshipRef) string {
	if r == nil {
		return "two parties"
	}
	return orParty(r.FromPartyName) + " and " + orParty(r.ToPartyName)
}

func orParty(name string) string {
	if name == "" {
		return "a party"
	}
	return name
}

// plainField is a field's name inside a sentence: FieldLabel without the
// scale or the clause.
func plainField(field string) string {
	switch field {
	case "influence", "interest", "addressed":
		return field
	case "from_party_id":
		return "from"
	case "to_party_id":
		return "to"
	}
	return FieldLabel(field)
}

// plainValue formats a value inside a sentence: scores as words, codes as
// words, texts quoted, a party by its name.
func plainValue(field string, v any, names func(string) string) string {
	switch field {
	case "influence", "interest":
		if n, ok := score(v); ok && n >= 1 && n < len(levelWords) {
			return levelWords[n]
		}
	case "addressed":
		switch v {
		case true:
			return "addressed"
		case false:
			return "not addressed"
		case nil:
			return "not yet decided"
		}
	case "parent_id", "from_party_id", "to_party_id":
		id, _ := v.(string)
		if id == "" {
			return "none"
		}
		if names != nil {
			if n := names(id); n != "" {
				return n
			}
		}
		return "another party"
	case "kind":
		if s, ok := v.(string); ok {
			return Label(s)
		}
	case "category", "scope", "source_type", "priority", "status", "outcome", "channel", "operator", "frequency":
		if s, ok := v.(string); ok && s != "" {
			return Label(s)
		}
	}
	switch v := v.(type) {
	case nil:
		return "none"
	case string:
		if v == "" {
			return "none"
		}
		return quote(v)
	case []string:
		if len(v) == 0 {
			return "none"
		}
		return strings.Join(v, ", ")
	}
	return RawValue(v)
}

func partyKind(p projections.PartyRef) string {
	s := "an " + Label(p.Scope)
	if p.Scope == "" {
		s = "a"
	}
	return s + " " + Label(p.Category)
}

func kindNoun(kind string) string {
	if kind == "expectation" {
		return "expectation"
	}
	return "requirement"
}

// quote puts a text from the register in typographic quotes, on one line.
func quote(s string) string {
	return "‘" + strings.Join(strings.Fields(s), " ") + "’"
}
