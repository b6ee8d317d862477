package domain

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Stable event type names. They are stored with every event: never rename one.
const (
	EventPartyIdentified                  = "party.identified"
	EventPartyRevised                     = "party.revised"
	EventPartyRetired                     = "party.retired"
	EventRequirementIdentified            = "requirement.identified"
	EventRequirementRevised               = "requirement.revised"
	EventRequirementAddressingDecided     = "requirement.addressing_decided"
	EventRequirementRetired               = "requirement.retired"
	EventManagementReviewHeld             = "management_review.held"
	EventObjectiveSet                     = "objective.set"
	EventObjectiveRevised                 = "objective.revised"
	EventKPIDefined                       = "kpi.defined"
	EventKPIRevised                       = "kpi.revised"
	EventKPIMeasured                      = "kpi.measured"
	EventRequirementReviewed              = "requirement.reviewed"
	EventCommunicationPlanned             = "communication.planned"
	EventCommunicationSent                = "communication.sent"
	CurrentSchema                     int = 1
)

// EventTypes lists every register event type this version of the code
// understands, in registration order: the types projections fold and
// subscribers may filter on. Internal events (name reservations) are not in
// it. It is filled by [RegisterEvents]; do not change it otherwise.
var EventTypes []string

// eventTable is the registry of the events of the first aggregates (party,
// requirement, review, objective, communication). New aggregates register
// theirs from their own file with [RegisterEvents]; see the package doc.
var _ = RegisterEvents(
	Def[PartyIdentified](), Def[PartyRevised](), Def[PartyRetired](),
	Def[RequirementIdentified](), Def[RequirementRevised](), Def[RequirementAddressingDecided](),
	Def[RequirementRetired](), Def[ManagementReviewHeld](),
	Def[ObjectiveSet](), Def[ObjectiveRevised](), Def[KPIDefined](), Def[KPIRevised](), Def[KPIMeasured](),
	Def[RequirementReviewed](), Def[CommunicationPlanned](), Def[CommunicationSent](),
)

// EventDef is one row of the event registry: an event's stable type name,
// how to decode its data, and whether it is internal.
type EventDef struct {
	// Type is the stored name, from the struct's EventType method.
	Type string
	// Internal marks bookkeeping events (name reservations) that are not
	// register facts: they are stored and verified like every event, but
	// left out of [EventTypes], so projections and subscribers skip them.
	Internal bool
	decode   func(data []byte) (Event, error)
}

// Def returns the registry row of the event struct E: its name comes from
// E's EventType method (never from the Go type name) and [Decode] returns
// values of type E.
func Def[E Event]() EventDef {
	var zero E
	return EventDef{Type: zero.EventType(), decode: func(data []byte) (Event, error) {
		var e E
		if err := json.Unmarshal(data, &e); err != nil {
			return nil, err
		}
		return e, nil
	}}
}

// InternalDef is [Def] for an internal event (see [EventDef.Internal]).
func InternalDef[E Event]() EventDef {
	d := Def[E]()
	d.Internal = true
	return d
}

var registry = map[string]EventDef{}

// RegisterEvents adds rows to the event registry. Call it from a
// package-level var declaration of the file that defines the events:
//
//	var _ = RegisterEvents(Def[RelationshipDrawn](), Def[RelationshipRevised]())
//
// It panics if a type name is registered twice: that is a programming
// error that must not reach a running server. The result is meaningless.
func RegisterEvents(defs ...EventDef) struct{} {
	for _, d := range defs {
		if d.Type == "" || d.decode == nil {
			panic("domain: RegisterEvents: a row without a type or decoder (build rows with Def)")
		}
		if _, dup := registry[d.Type]; dup {
			panic("domain: RegisterEvents: event type " + d.Type + " registered twice")
		}
		registry[d.Type] = d
		if !d.Internal {
			EventTypes = append(EventTypes, d.Type)
		}
	}
	return struct{}{}
}

// IsInternalEvent reports whether eventType is a registered internal event.
func IsInternalEvent(eventType string) bool { return registry[eventType].Internal }

// Event is the payload of one domain event: the `data` of the stored envelope.
type Event interface {
	EventType() string
}

// Change is one field's old and new value. Values are JSON values: strings,
// numbers, booleans, lists of strings or null.
type Change struct {
	From any `json:"from"`
	To   any `json:"to"`
}

// Changes maps a field name to its change.
type Changes map[string]Change

// Fields returns the changed field names in a stable, human order: the order
// of order, then any others alphabetically.
func (c Changes) Fields(order []string) []string {
	out := make([]string, 0, len(c))
	for _, f := range order {
		if _, ok := c[f]; ok {
			out = append(out, f)
		}
	}
	var rest []string
	for f := range c {
		if !slices.Contains(order, f) {
			rest = append(rest, f)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}

// PartyFields and RequirementFields give the display order of fields.
var (
	PartyFields = []string{"name", "category", "scope", "description", "owner", "influence",
		"interest", "parent_id", "status"}
	RequirementFields = []string{"kind", "title", "description", "source_type", "source_ref",
		"owner", "priority", "review_due", "addressed", "rationale", "treatment", "controls", "status"}
)

// PartyIdentified records a new interested party.
type PartyIdentified struct {
	PartyID     PartyID  `json:"party_id"`
	Name        string   `json:"name"`
	Category    string   `json:"category"`
	Scope       string   `json:"scope"`
	Description string   `json:"description"`
	Owner       string   `json:"owner"`
	Influence   int      `json:"influence"`
	Interest    int      `json:"interest"`
	ParentID    *PartyID `json:"parent_id"`
}

// PartyRevised records changed fields of a party.
type PartyRevised struct {
	PartyID PartyID `json:"party_id"`
	Changes Changes `json:"changes"`
}

// PartyRetired records that a party is no longer an interested party.
type PartyRetired struct {
	PartyID PartyID `json:"party_id"`
	Changes Changes `json:"changes"`
}

// RequirementIdentified records a new requirement or expectation of a party.
type RequirementIdentified struct {
	PartyID       PartyID       `json:"party_id"`
	RequirementID RequirementID `json:"requirement_id"`
	Kind          string        `json:"kind"`
	Title         string        `json:"title"`
	Description   string        `json:"description"`
	SourceType    string        `json:"source_type"`
	SourceRef     string        `json:"source_ref"`
	Owner         string        `json:"owner"`
	Priority      string        `json:"priority"`
	ReviewDue     *string       `json:"review_due"`
	Addressed     *bool         `json:"addressed"`
	Rationale     string        `json:"rationale"`
	Treatment     string        `json:"treatment"`
	Controls      []string      `json:"controls"`
}

// RequirementRevised records changed fields of a requirement.
type RequirementRevised struct {
	PartyID       PartyID       `json:"party_id"`
	RequirementID RequirementID `json:"requirement_id"`
	Changes       Changes       `json:"changes"`
}

// RequirementAddressingDecided records the clause 4.2 c) decision: whether the
// requirement is addressed through the ISMS, why, and how.
type RequirementAddressingDecided struct {
	PartyID       PartyID       `json:"party_id"`
	RequirementID RequirementID `json:"requirement_id"`
	Addressed     *bool         `json:"addressed"`
	Rationale     string        `json:"rationale"`
	Treatment     string        `json:"treatment"`
	Controls      []string      `json:"controls"`
	Changes       Changes       `json:"changes"`
}

// RequirementRetired records that a requirement no longer applies.
type RequirementRetired struct {
	PartyID       PartyID       `json:"party_id"`
	RequirementID RequirementID `json:"requirement_id"`
	Changes       Changes       `json:"changes"`
}

// ManagementReviewHeld records a management review (clause 9.3). It is the
// checkpoint from which "changes since the last review" are counted.
type ManagementReviewHeld struct {
	ReviewID  ReviewID `json:"review_id"`
	HeldOn    string   `json:"held_on"`
	Title     string   `json:"title"`
	Attendees []string `json:"attendees"`
	Notes     string   `json:"notes"`
	// The window and the 9.3.3 outputs; absent from reviews recorded before
	// they existed (ConsideredFrom and ConsideredTo nil).
	ConsideredFrom *int64             `json:"considered_from,omitempty"`
	ConsideredTo   *int64             `json:"considered_to,omitempty"`
	Decisions      []string           `json:"decisions,omitempty"`
	Actions        []ReviewActionItem `json:"actions,omitempty"`
	Late           bool               `json:"late,omitempty"` // held before the latest review recorded earlier
}

func (PartyIdentified) EventType() string       { return EventPartyIdentified }
func (PartyRevised) EventType() string          { return EventPartyRevised }
func (PartyRetired) EventType() string          { return EventPartyRetired }
func (RequirementIdentified) EventType() string { return EventRequirementIdentified }
func (RequirementRevised) EventType() string    { return EventRequirementRevised }
func (RequirementAddressingDecided) EventType() string {
	return EventRequirementAddressingDecided
}
func (RequirementRetired) EventType() string   { return EventRequirementRetired }
func (ManagementReviewHeld) EventType() string { return EventManagementReviewHeld }

// Decode turns a stored event's type, schema and data back into its struct
// (a value, not a pointer). It fails for an unknown type or a schema newer
// than this code understands; older schemas are upcast here when there are
// any.
func Decode(eventType string, schema int, data []byte) (Event, error) {
	if schema < 1 || schema > CurrentSchema {
		return nil, Errorf(EINTERNAL, "decode %s: unsupported schema %d", eventType, schema)
	}
	d, ok := registry[eventType]
	if !ok {
		return nil, Errorf(EINTERNAL, "decode: unknown event type %q", eventType)
	}
	e, err := d.decode(data)
	if err != nil {
		return nil, &Error{Code: EINTERNAL, Message: fmt.Sprintf("decode %s: %v", eventType, err), Err: err}
	}
	return e, nil
}
