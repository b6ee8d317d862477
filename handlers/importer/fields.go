package importer

import (
	"strings"
	"unicode"
)

// Field is the canonical name of a column the importer understands.
type Field string

// The fields the importer reads. Party fields repeat on every requirement row
// of the party (or appear once on a row of their own, with no requirement).
const (
	FieldName             Field = "name"
	FieldScope            Field = "scope"
	FieldCategory         Field = "category"
	FieldPartyOwner       Field = "party_owner"
	FieldPartyDescription Field = "party_description"
	FieldInfluence        Field = "influence"
	FieldInterest         Field = "interest"
	FieldTitle            Field = "title"
	FieldKind             Field = "kind"
	FieldDescription      Field = "description"
	FieldSourceType       Field = "source_type"
	FieldSourceRef        Field = "source_ref"
	FieldOwner            Field = "owner"
	FieldPriority         Field = "priority"
	FieldReviewDue        Field = "review_due"
	FieldAddressed        Field = "addressed"
	FieldRationale        Field = "rationale"
	FieldTreatment        Field = "treatment"
	FieldControls         Field = "controls"
	FieldTrigger          Field = "trigger"
	FieldEffectiveOn      Field = "effective_on"
	// FieldIgnore is a mapping target that drops a column without a warning.
	FieldIgnore Field = "ignore"
)

// Fields maps each field to the header texts recognised for it. Headers are
// compared after [NormalizeHeader], so case, spacing, punctuation, "&" versus
// "and" and hints in parentheses do not matter.
var Fields = map[Field][]string{
	FieldName: {"name", "interested party", "interested parties", "interested party name", "stakeholder",
		"stakeholders", "stakeholder name", "party", "party name", "organisation", "organization"},
	FieldScope:            {"scope", "internal/external", "internal or external", "type", "int/ext", "party type"},
	FieldCategory:         {"category", "party category", "stakeholder category"},
	FieldPartyOwner:       {"party owner", "relationship owner", "stakeholder owner"},
	FieldPartyDescription: {"party description", "stakeholder description"},
	FieldInfluence:        {"influence", "power", "influence/power", "power/influence", "influence level"},
	FieldInterest:         {"interest", "interest level"},
	FieldTitle: {"title", "needs and expectations", "needs & expectations", "requirement", "requirements",
		"need", "needs", "expectation", "expectations", "requirement title", "requirements and expectations"},
	FieldKind:        {"kind", "requirement/expectation", "requirement or expectation"},
	FieldDescription: {"description", "details", "requirement description"},
	FieldSourceType:  {"source type"},
	FieldSourceRef:   {"source", "reference", "legal reference", "source reference"},
	FieldOwner:       {"owner", "responsible", "accountable", "requirement owner"},
	FieldPriority:    {"priority"},
	FieldReviewDue:   {"next review", "review date", "next review date", "review due"},
	FieldAddressed: {"addressed", "addressed by isms?", "addressed by the isms?", "addressed through the isms",
		"addressed through isms", "in scope"},
	FieldRationale:   {"rationale", "justification"},
	FieldTreatment:   {"treatment", "how addressed", "action", "actions", "control"},
	FieldControls:    {"controls", "annex a controls", "annex a"},
	FieldTrigger:     {"trigger"},
	FieldEffectiveOn: {"effective", "effective on", "effective date", "identified on", "date identified"},
}

// partyFields are the fields that describe the party rather than a requirement.
var partyFields = map[Field]bool{FieldName: true, FieldScope: true, FieldCategory: true,
	FieldPartyOwner: true, FieldPartyDescription: true, FieldInfluence: true, FieldInterest: true}

// headerIndex maps a normalised header text to its field.
var headerIndex = func() map[string]Field {
	m := map[string]Field{}
	for f, names := range Fields {
		for _, n := range names {
			m[NormalizeHeader(n)] = f
		}
		m[NormalizeHeader(string(f))] = f
	}
	return m
}()

// knownField reports whether f is a field name a mapping may target.
func knownField(f Field) bool {
	_, ok := Fields[f]
	return ok || f == FieldIgnore
}

// NormalizeHeader is the key under which column headers (and enum values) are
// compared: lower case, "&" read as "and", text in parentheses or brackets
// dropped, every run of punctuation or space turned into one space.
func NormalizeHeader(s string) string {
	s = strings.ToLower(s)
	s = strings.ReplaceAll(s, "&", " and ")
	var b strings.Builder
	depth := 0
	space := false
	for _, r := range s {
		switch {
		case r == '(' || r == '[':
			depth++
			continue
		case r == ')' || r == ']':
			if depth > 0 {
				depth--
			}
			continue
		case depth > 0:
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		default:
			space = true
		}
	}
	return b.String()
}
