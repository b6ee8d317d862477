package webhooks

import (
	"encoding/json"
	"time"

	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/handlers/pipeline"
)

// Source is the CloudEvents source attribute of every payload.
const Source = "urn:partyledger"

// Payload is the body of a webhook: a CloudEvents 1.0 event in structured
// JSON mode whose data carries the stored event envelope (hash and all, so a
// receiver can check it) and, for events that change a party or a
// requirement, the change item of the 9.3.2 c) feed: party, requirement,
// field diffs from/to, actor, reason, trigger.
type Payload struct {
	SpecVersion     string    `json:"specversion"` // "1.0"
	ID              string    `json:"id"`          // the event id, also webhook-id
	Source          string    `json:"source"`
	Type            string    `json:"type"`    // the event type
	Subject         string    `json:"subject"` // the event's stream, such as party-<uuid>
	Time            time.Time `json:"time"`
	DataContentType string    `json:"datacontenttype"`
	// Position is a CloudEvents extension attribute: the event's global
	// position in the log, increasing per subscription.
	Position int64       `json:"position"`
	Data     PayloadData `json:"data"`
}

// PayloadData is the data of a [Payload].
type PayloadData struct {
	Event  eventstore.Event `json:"event"`
	Change *pipeline.Item   `json:"change"` // null for management reviews
}

// NewPayload builds the payload of ev with its feed item (nil if none).
func NewPayload(ev eventstore.Event, change *pipeline.Item) Payload {
	return Payload{SpecVersion: "1.0", ID: ev.ID, Source: Source, Type: ev.Type, Subject: ev.Stream,
		Time: ev.Time.UTC(), DataContentType: "application/json", Position: ev.Position,
		Data: PayloadData{Event: ev, Change: change}}
}

// Marshal encodes the payload as the exact bytes that are signed and sent.
func (p Payload) Marshal() ([]byte, error) {
	return json.Marshal(p)
}

// RedactEnvelope returns ev without the fields only auditors may read: the
// hash chain (hash, prev_hash) and the tracing ids (correlation_id,
// causation_id). Payloads for a reader without the audit permission carry
// this form, as /events would not show them the envelope at all.
func RedactEnvelope(ev eventstore.Event) eventstore.Event {
	ev.Hash, ev.PrevHash, ev.CorrelationID, ev.CausationID = "", "", "", ""
	return ev
}
