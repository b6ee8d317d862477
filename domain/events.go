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

// EventTypes lists every event type this version of the code understands.
var EventTypes = []string{EventPartyIdentified, EventPartyRevised, EventPartyRetired,
	EventRequirementIdentified, EventRequirementRevised, EventRequirementAddressingDecided,
	EventRequirementRetired, EventManagementReviewHeld,
	EventObjectiveSet, EventObjectiveRevised, EventKPIDefined, EventKPIRevised, EventKPIMeasured,
	EventRequirementReviewed, EventCommunicationPlanned, EventCommunicationSent,
	EventRelationshipEstablished, EventRelationshipRevised, EventRelationshipEnded,
	EventOwnerContactsSet, EventReminderClaimed, EventReminderSent, EventReminderFailed}

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

// Decode turns a stored event's type, schema and data back into its struct.
// It fails for an unknown type or a schema newer than this code understands;
// older schemas are upcast here when there are any.
func Decode(eventType string, schema int, data []byte) (Event, error) {
	if schema < 1 || schema > CurrentSchema {
		return nil, Errorf(EINTERNAL, "decode %s: unsupported schema %d", eventType, schema)
	}
	var e Event
	switch eventType {
	case EventPartyIdentified:
		e = &PartyIdentified{}
	case EventPartyRevised:
		e = &PartyRevised{}
	case EventPartyRetired:
		e = &PartyRetired{}
	case EventRequirementIdentified:
		e = &RequirementIdentified{}
	case EventRequirementRevised:
		e = &RequirementRevised{}
	case EventRequirementAddressingDecided:
		e = &RequirementAddressingDecided{}
	case EventRequirementRetired:
		e = &RequirementRetired{}
	case EventManagementReviewHeld:
		e = &ManagementReviewHeld{}
	case EventObjectiveSet:
		e = &ObjectiveSet{}
	case EventObjectiveRevised:
		e = &ObjectiveRevised{}
	case EventKPIDefined:
		e = &KPIDefined{}
	case EventKPIRevised:
		e = &KPIRevised{}
	case EventKPIMeasured:
		e = &KPIMeasured{}
	case EventRequirementReviewed:
		e = &RequirementReviewed{}
	case EventCommunicationPlanned:
		e = &CommunicationPlanned{}
	case EventCommunicationSent:
		e = &CommunicationSent{}
	case EventRelationshipEstablished:
		e = &RelationshipEstablished{}
	case EventRelationshipRevised:
		e = &RelationshipRevised{}
	case EventRelationshipEnded:
		e = &RelationshipEnded{}
	case EventOwnerContactsSet:
		e = &OwnerContactsSet{}
	case EventReminderClaimed:
		e = &ReminderClaimed{}
	case EventReminderSent:
		e = &ReminderSent{}
	case EventReminderFailed:
		e = &ReminderFailed{}
	default:
		return nil, Errorf(EINTERNAL, "decode: unknown event type %q", eventType)
	}
	if err := json.Unmarshal(data, e); err != nil {
		return nil, &Error{Code: EINTERNAL, Message: fmt.Sprintf("decode %s: %v", eventType, err), Err: err}
	}
	return deref(e), nil
}

// deref returns the value the pointer points to, so that callers switch on
// value types.
func deref(e Event) Event {
	switch v := e.(type) {
	case *PartyIdentified:
		return *v
	case *PartyRevised:
		return *v
	case *PartyRetired:
		return *v
	case *RequirementIdentified:
		return *v
	case *RequirementRevised:
		return *v
	case *RequirementAddressingDecided:
		return *v
	case *RequirementRetired:
		return *v
	case *ManagementReviewHeld:
		return *v
	case *ObjectiveSet:
		return *v
	case *ObjectiveRevised:
		return *v
	case *KPIDefined:
		return *v
	case *KPIRevised:
		return *v
	case *KPIMeasured:
		return *v
	case *RequirementReviewed:
		return *v
	case *CommunicationPlanned:
		return *v
	case *CommunicationSent:
		return *v
	case *RelationshipEstablished:
		return *v
	case *RelationshipRevised:
		return *v
	case *RelationshipEnded:
		return *v
	case *OwnerContactsSet:
		return *v
	case *ReminderClaimed:
		return *v
	case *ReminderSent:
		return *v
	case *ReminderFailed:
		return *v
	}
	return e
}
