package projections

import (
	"time"
)

// PartyView is one party as the register shows it. It is a read-model type,
// not the domain's Party: it carries what readers need (timestamps, counts).
type PartyView struct {
	ID           string            `json:"id"`
	Version      int64             `json:"version"` // stream version, the ETag
	Name         string            `json:"name"`
	Category     string            `json:"category"`
	Scope        string            `json:"scope"`
	Description  string            `json:"description"`
	Owner        string            `json:"owner"`
	Influence    int               `json:"influence"`
	Interest     int               `json:"interest"`
	ParentID     *string           `json:"parent_id"`
	Status       string            `json:"status"` // active | retired
	CreatedAt    time.Time         `json:"created_at"`
	UpdatedAt    time.Time         `json:"updated_at"`
	Requirements []RequirementView `json:"requirements,omitempty"`
}

// RequirementView is one requirement or expectation of a party.
type RequirementView struct {
	ID          string    `json:"id"`
	PartyID     string    `json:"party_id"`
	Kind        string    `json:"kind"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	SourceType  string    `json:"source_type"`
	SourceRef   string    `json:"source_ref"`
	Owner       string    `json:"owner"`
	Priority    string    `json:"priority"`
	ReviewDue   *string   `json:"review_due"`
	Addressed   *bool     `json:"addressed"`
	Rationale   string    `json:"rationale"`
	Treatment   string    `json:"treatment"`
	Controls    []string  `json:"controls"`
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// ReviewView is one recorded management review.
type ReviewView struct {
	ID         string    `json:"id"`
	HeldOn     string    `json:"held_on"`
	Title      string    `json:"title"`
	Attendees  []string  `json:"attendees"`
	Notes      string    `json:"notes"`
	Position   int64     `json:"position"` // global position of management_review.held
	RecordedAt time.Time `json:"recorded_at"`
	RecordedBy string    `json:"recorded_by"`

	ReviewWindowView // the window, 9.3.3 outputs and status (reviews.go)
}

// Change kinds of a feed item.
const (
	ChangePartyAdded                   = "party_added"
	ChangePartyRevised                 = "party_revised"
	ChangePartyRetired                 = "party_retired"
	ChangeRequirementAdded             = "requirement_added"
	ChangeRequirementRevised           = "requirement_revised"
	ChangeRequirementAddressingDecided = "requirement_addressing_decided"
	ChangeRequirementRetired           = "requirement_retired"
	// Net view only: the item was added and retired inside the window.
	ChangePartyAddedAndRetired       = "party_added_and_retired"
	ChangeRequirementAddedAndRetired = "requirement_added_and_retired"
)

// PartyRef names a party in a feed item (name as it was after the event).
type PartyRef struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Scope    string `json:"scope"`
	Category string `json:"category"`
}

// RequirementRef names a requirement in a feed item (as it was after the event).
type RequirementRef struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Kind  string `json:"kind"`
}

// FieldChange is one field's change: from is null for an added item.
type FieldChange struct {
	Field string `json:"field"`
	From  any    `json:"from"`
	To    any    `json:"to"`
}

// ChangeItem is one entry of the detailed change feed: one event that changed
// a party or one of its requirements.
type ChangeItem struct {
	Position    int64           `json:"position"`
	EventID     string          `json:"event_id"`
	Type        string          `json:"type"`
	Time        time.Time       `json:"time"`
	Actor       string          `json:"actor"`
	Reason      string          `json:"reason"`
	Trigger     string          `json:"trigger"`
	EffectiveOn string          `json:"effective_on"`   // YYYY-MM-DD the change took effect; Time is when it was recorded
	Party       PartyRef        `json:"party,omitzero"` // absent for objective items
	Requirement *RequirementRef `json:"requirement,omitempty"`
	Objective   *ObjectiveRef   `json:"objective,omitempty"` // objective and KPI items
	Change      string          `json:"change"`
	Changes     []FieldChange   `json:"changes"`
	// Relationship names the relationship of relationship items (Party is
	// then its "from" party).
	Relationship *RelationshipRef `json:"relationship,omitempty"`
	// Reminder is set on the history items of reminder digests
	// (Change [ChangeReminderSent]; see [ReadModel.History]).
	Reminder *ReminderRef `json:"reminder,omitempty"`
}

// NetItem is one entry of the net change feed: everything that happened to
// one party (Requirement nil) or one requirement inside the window, reduced
// to the first `from` and last `to` of each field. Fields that ended where
// they started are dropped; an item with nothing left is dropped.
type NetItem struct {
	Party       PartyRef        `json:"party,omitzero"` // absent for objective items
	Requirement *RequirementRef `json:"requirement,omitempty"`
	Objective   *ObjectiveRef   `json:"objective,omitempty"` // objective and KPI items
	Change      string          `json:"change"`
	Changes     []FieldChange   `json:"changes"`
	Events      []EventRef      `json:"events"` // the events behind this item, in order
	// Relationship names the relationship of relationship items, as last
	// seen in the window.
	Relationship *RelationshipRef `json:"relationship,omitempty"`
}

// EventRef traces a net item back to one event of the log.
type EventRef struct {
	Position int64     `json:"position"`
	EventID  string    `json:"event_id"`
	Type     string    `json:"type"`
	Time     time.Time `json:"time"`
	Actor    string    `json:"actor"`
	Reason   string    `json:"reason"`
	Trigger  string    `json:"trigger"`
	// EffectiveOn is the date the change took effect (YYYY-MM-DD).
	EffectiveOn string `json:"effective_on"`
	Change      string `json:"change"`
}
