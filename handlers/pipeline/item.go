package pipeline

import (
	"time"

	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/projections"
)

// Item is the wire form of one change of the 9.3.2 c) feed, as the live
// stream (SSE data), the webhooks (data.change) and their filters see it.
// It is declared here, apart from the read-model row
// ([projections.ChangeItem]), so that a change to how the feed projection
// stores its rows does not change what subscribers receive: [ItemOf] is the
// one place where a row becomes an Item. Its JSON is the documented change
// item of openapi.json.
type Item struct {
	Position    int64                       `json:"position"`
	EventID     string                      `json:"event_id"`
	Type        string                      `json:"type"`
	Time        time.Time                   `json:"time"`
	Actor       string                      `json:"actor"`
	Reason      string                      `json:"reason"`
	Trigger     string                      `json:"trigger"`
	Party       projections.PartyRef        `json:"party,omitzero"` // absent for objective items
	Requirement *projections.RequirementRef `json:"requirement,omitempty"`
	Objective   *projections.ObjectiveRef   `json:"objective,omitempty"` // objective and KPI items
	Change      string                      `json:"change"`
	Changes     []projections.FieldChange   `json:"changes"`
}

// ItemOf returns the wire form of a feed row.
func ItemOf(row projections.ChangeItem) Item {
	return Item{Position: row.Position, EventID: row.EventID, Type: row.Type, Time: row.Time,
		Actor: row.Actor, Reason: row.Reason, Trigger: row.Trigger, Party: row.Party,
		Requirement: row.Requirement, Objective: row.Objective, Change: row.Change, Changes: row.Changes}
}

// Change is one committed event of the log with its feed item: what every
// consumer of the pipeline receives. Item is nil for events that are not
// feed items (management reviews, tokens, name reservations).
type Change struct {
	Event eventstore.Event
	Item  *Item
}
