package domain

import (
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// PartyID identifies an interested party (a UUID).
type PartyID string

// RequirementID identifies a requirement or expectation (a UUID).
type RequirementID string

// ReviewID identifies a management review (a UUID).
type ReviewID string

// Stream prefixes: one stream per aggregate.
const (
	PartyStreamPrefix  = "party-"
	ReviewStreamPrefix = "review-"
)

// Stream returns the name of the party's event stream.
func (id PartyID) Stream() string { return PartyStreamPrefix + string(id) }

// Stream returns the name of the review's event stream.
func (id ReviewID) Stream() string { return ReviewStreamPrefix + string(id) }

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// ValidID reports whether s is a canonical lower-case UUID.
func ValidID(s string) bool { return uuidRE.MatchString(s) }

// enum is a closed set of stored string values.
type enum []string

func (e enum) has(s string) bool { return slices.Contains(e, s) }
func (e enum) list() string      { return strings.Join(e, ", ") }

// Categories of interested parties.
var Categories = enum{"customer", "government_customer", "employee", "executive", "shareholder",
	"supplier", "partner", "regulator", "insurer", "auditor", "media", "landlord", "competitor",
	"community", "other"}

// Scopes: is the party inside or outside the organisation.
var Scopes = enum{"internal", "external"}

// Kinds: a requirement is mandatory, an expectation is softer.
var Kinds = enum{"requirement", "expectation"}

// SourceTypes: where a requirement comes from.
var SourceTypes = enum{"law", "regulation", "contract", "sla", "policy", "standard", "survey",
	"interview", "feedback", "market_research", "benchmark", "other"}

// Priorities of a requirement.
var Priorities = enum{"low", "medium", "high", "critical"}

// Triggers: what caused a change.
var Triggers = enum{"risk_assessment", "incident", "regulatory_change", "contract_change",
	"customer_feedback", "audit_finding", "management_review", "periodic_review", "other"}

// Statuses of parties and requirements.
const (
	StatusActive  = "active"
	StatusRetired = "retired"
)

// Defaults applied where a command leaves a field out.
const (
	DefaultLevel      = 3
	DefaultTrigger    = "other"
	DefaultSourceType = "other"
	DefaultPriority   = "medium"
)

// Limits on text fields, in characters (runes).
const (
	MaxNameLen        = 200
	MaxTextLen        = 10000
	MaxShortLen       = 200
	MaxControls       = 100
	MaxControlLen     = 50
	MaxAttendees      = 100
	DateLayout        = "2006-01-02"
	maxFutureReviewed = 24 * time.Hour // held_on may be at most the day after today (UTC)
)

// Meta is what every command carries for the audit trail: who acted (from the
// authenticated token, never from a request body), why, and what caused it.
type Meta struct {
	Actor         string
	Reason        string
	Trigger       string
	CorrelationID string
	CausationID   string
	// EffectiveOn is the date (YYYY-MM-DD) the change took effect in the
	// world, when the caller says so; "" means the recording date. It is
	// stored in the envelope of every event the command appends, never in
	// the event data, and checked by [Meta.CheckEffectiveOn].
	EffectiveOn string
}

// CheckEffectiveOn reports an EINVALID error naming the field effective_on
// when EffectiveOn is neither empty nor a YYYY-MM-DD date on or before the
// UTC date of now: a change cannot take effect after the day it is
// recorded. The command pipeline calls it for every command with the time
// it stamps on the events.
func (m Meta) CheckEffectiveOn(now time.Time) error {
	if m.EffectiveOn == "" {
		return nil
	}
	var v validation
	d, err := time.Parse(DateLayout, m.EffectiveOn)
	switch today := now.UTC().Format(DateLayout); {
	case err != nil || d.Format(DateLayout) != m.EffectiveOn:
		v.add("effective_on", "must be a date YYYY-MM-DD")
	case m.EffectiveOn > today:
		v.add("effective_on", "is in the future; a change takes effect on or before the day it is recorded (%s)", today)
	}
	return v.err()
}

func (m Meta) validate(v *validation, reasonRequired bool) {
	if strings.TrimSpace(m.Actor) == "" {
		v.add("actor", "is required")
	}
	if reasonRequired && strings.TrimSpace(m.Reason) == "" {
		v.add("reason", "is required: say why this changes")
	}
	checkText(v, "reason", m.Reason, MaxTextLen)
	if m.Trigger != "" && !Triggers.has(m.Trigger) {
		v.add("trigger", "must be one of %s", Triggers.list())
	}
}

// TriggerOrDefault returns the trigger, or [DefaultTrigger] when none was given.
func (m Meta) TriggerOrDefault() string {
	if m.Trigger == "" {
		return DefaultTrigger
	}
	return m.Trigger
}

// checkText rejects invalid UTF-8, control characters other than newline and
// tab, and text longer than max runes.
func checkText(v *validation, field, s string, max int) {
	if !utf8.ValidString(s) {
		v.add(field, "is not valid UTF-8")
		return
	}
	if n := utf8.RuneCountInString(s); n > max {
		v.add(field, "is %d characters long; at most %d are allowed", n, max)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' {
			v.add(field, "contains a control character")
			return
		}
		if isBidiControl(r) {
			v.add(field, "contains a bidirectional control character (U+%04X), which makes text display in another order than it reads", r)
			return
		}
	}
}

// checkName validates a required single-line name.
func checkName(v *validation, field, s string, max int) {
	if strings.TrimSpace(s) == "" {
		v.add(field, "is required")
		return
	}
	checkLine(v, field, s, max)
}

func checkEnum(v *validation, field, s string, e enum) {
	if !e.has(s) {
		if s == "" {
			v.add(field, "is required; one of %s", e.list())
			return
		}
		v.add(field, "must be one of %s", e.list())
	}
}

func checkLevel(v *validation, field string, n int) {
	if n < 1 || n > 5 {
		v.add(field, "must be an integer from 1 to 5")
	}
}

// checkDate validates an optional YYYY-MM-DD date.
func checkDate(v *validation, field, s string) {
	if s == "" {
		return
	}
	if _, err := time.Parse(DateLayout, s); err != nil {
		v.add(field, "must be a date YYYY-MM-DD")
	}
}

func checkControls(v *validation, field string, cs []string) {
	if len(cs) > MaxControls {
		v.add(field, "has %d entries; at most %d are allowed", len(cs), MaxControls)
		return
	}
	seen := map[string]bool{}
	for _, c := range cs {
		if strings.TrimSpace(c) == "" || strings.ContainsAny(c, "\n\r\t") {
			v.add(field, "entries must be non-empty single-line references such as A.5.19")
			return
		}
		checkText(v, field, c, MaxControlLen)
		if seen[c] {
			v.add(field, "lists %q twice", c)
			return
		}
		seen[c] = true
	}
}
