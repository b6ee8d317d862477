package bus

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/partyledger/partyledger/eventstore"
)

// Topics and names on the bus.
const (
	// TopicPrefix starts the topic (NATS subject) of every change:
	// "partyledger.changes.<event type>", e.g.
	// "partyledger.changes.party.identified".
	TopicPrefix = "partyledger.changes."
	// AllTopic is the topic in-process handlers subscribe to: every change,
	// whatever its type. On NATS it is the wildcard subject of all changes.
	AllTopic = TopicPrefix + ">"
	// ChangeName is the cqrs event name of [Change]: every message on the
	// bus is one.
	ChangeName = "partyledger.change"
	// DefaultSource is the CloudEvents source when none is configured. Every
	// replica of one installation should use the same source, so that the
	// same event published twice is recognisably the same (source, id).
	DefaultSource = "urn:partyledger"
	// ContentType is the media type of a message's payload (CloudEvents
	// structured mode).
	ContentType = "application/cloudevents+json"
)

// Metadata keys set on every message. On NATS they become headers.
const (
	// MetaMsgID carries the event id; JetStream de-duplicates on it.
	MetaMsgID = "Nats-Msg-Id"
	// MetaContentType is [ContentType].
	MetaContentType = "Content-Type"
	// MetaType is the event type, so that a consumer can filter without
	// decoding the payload.
	MetaType = "Ce-Type"
)

// Topic returns the topic (NATS subject) of changes of the given event type.
func Topic(eventType string) string { return TopicPrefix + eventType }

// Change is one stored event as published on the bus: a CloudEvents 1.0
// event in structured JSON mode whose data is the whole event envelope
// (with its position and hashes). ID is the event id, which is also the
// watermill message UUID; a subscriber uses it to drop duplicates.
type Change struct {
	SpecVersion     string           `json:"specversion"`
	ID              string           `json:"id"`
	Source          string           `json:"source"`
	Type            string           `json:"type"`
	Time            time.Time        `json:"time"`
	Subject         string           `json:"subject"`
	DataContentType string           `json:"datacontenttype"`
	Data            eventstore.Event `json:"data"`
}

// NewChange wraps a stored event. An empty source means [DefaultSource].
func NewChange(ev eventstore.Event, source string) Change {
	if source == "" {
		source = DefaultSource
	}
	return Change{
		SpecVersion:     "1.0",
		ID:              ev.ID,
		Source:          source,
		Type:            ev.Type,
		Time:            ev.Time.UTC(),
		Subject:         ev.Stream,
		DataContentType: "application/json",
		Data:            ev,
	}
}

// NewMessage returns the message that carries ev on the bus: UUID = event
// id, payload = the [Change] as JSON, metadata = [MetaMsgID],
// [MetaContentType] and [MetaType].
func NewMessage(ev eventstore.Event, source string) (*message.Message, error) {
	return Marshaler{Source: source}.Marshal(NewChange(ev, source))
}

// ParseMessage decodes a message published by [NewMessage]. It fails when
// the payload is not a CloudEvents 1.0 change.
func ParseMessage(msg *message.Message) (*Change, error) {
	var c Change
	if err := (Marshaler{}).Unmarshal(msg, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// Marshaler is the [cqrs.CommandEventMarshaler] of the bus: it marshals a
// [Change] (or *Change) into a message and back. Every message on the bus
// has the name [ChangeName].
//
// [cqrs.CommandEventMarshaler]: https://pkg.go.dev/github.com/ThreeDotsLabs/watermill/components/cqrs#CommandEventMarshaler
type Marshaler struct {
	// Source fills an empty Change.Source; empty means [DefaultSource].
	Source string
}

// Marshal implements cqrs.CommandEventMarshaler.
func (m Marshaler) Marshal(v any) (*message.Message, error) {
	var c Change
	switch x := v.(type) {
	case Change:
		c = x
	case *Change:
		c = *x
	default:
		return nil, fmt.Errorf("bus: marshal %T: want bus.Change", v)
	}
	if c.Source == "" {
		c.Source = m.Source
		if c.Source == "" {
			c.Source = DefaultSource
		}
	}
	if c.ID == "" {
		return nil, errors.New("bus: marshal change: empty id")
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("bus: marshal change %s: %w", c.ID, err)
	}
	msg := message.NewMessage(c.ID, payload)
	msg.Metadata.Set(MetaMsgID, c.ID)
	msg.Metadata.Set(MetaContentType, ContentType)
	msg.Metadata.Set(MetaType, c.Type)
	return msg, nil
}

// Unmarshal implements cqrs.CommandEventMarshaler: v must be a *Change.
func (Marshaler) Unmarshal(msg *message.Message, v any) error {
	c, ok := v.(*Change)
	if !ok {
		return fmt.Errorf("bus: unmarshal into %T: want *bus.Change", v)
	}
	if err := json.Unmarshal(msg.Payload, c); err != nil {
		return fmt.Errorf("bus: message %s: %w", msg.UUID, err)
	}
	if c.SpecVersion != "1.0" || c.ID == "" || c.Type == "" {
		return fmt.Errorf("bus: message %s is not a CloudEvents 1.0 change (specversion %q, id %q, type %q)", msg.UUID, c.SpecVersion, c.ID, c.Type)
	}
	return nil
}

// Name implements cqrs.CommandEventMarshaler.
func (Marshaler) Name(any) string { return ChangeName }

// NameFromMessage implements cqrs.CommandEventMarshaler.
func (Marshaler) NameFromMessage(*message.Message) string { return ChangeName }
