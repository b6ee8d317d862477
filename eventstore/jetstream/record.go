package jetstream

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/partyledger/partyledger/eventstore"
)

// DefaultSubjectPrefix starts the subject of every event message:
// "partyledger.events.<stream with its first '-' as '.'>", e.g.
// partyledger.events.party.0193… for the stream party-0193….
const DefaultSubjectPrefix = "partyledger.events"

// Message headers set on every event message besides Nats-Msg-Id (the event
// id).
const (
	// HeaderVersion is the event's version in its stream, so that the
	// current version of a stream can be read from its last message's
	// headers.
	HeaderVersion = "Partyledger-Version"
	// HeaderFormat is the record format, [recordFormat].
	HeaderFormat = "Partyledger-Format"
)

// recordFormat is the version of the message layout below.
const recordFormat = "1"

// record is the message body: the event envelope as JSON without Position,
// which is the JetStream sequence of the message. Data is in its canonical
// form ([eventstore.CanonicalData]), which encoding/json writes and reads
// back byte for byte.
type record struct {
	ID            string          `json:"id"`
	Stream        string          `json:"stream"`
	Version       int64           `json:"version"`
	Type          string          `json:"type"`
	Schema        int             `json:"schema"`
	Time          string          `json:"time"`
	Actor         string          `json:"actor"`
	Reason        string          `json:"reason"`
	Trigger       string          `json:"trigger"`
	CorrelationID string          `json:"correlation_id"`
	CausationID   string          `json:"causation_id"`
	EffectiveOn   string          `json:"effective_on,omitempty"`
	Data          json.RawMessage `json:"data"`
	PrevHash      string          `json:"prev_hash"`
	Hash          string          `json:"hash"`
}

// ComputeHash returns the hash of ev under the JetStream store's rule: the
// canonical [eventstore.Event.ComputeHash] of the event with Position 0.
// The position is the JetStream sequence, which the server assigns after
// the hash is made, so it cannot be covered; a stream's order is covered by
// its version and the per-stream chain instead.
func ComputeHash(ev eventstore.Event) string {
	ev.Position = 0
	return ev.ComputeHash()
}

// subjectFor maps an aggregate stream to its subject. Stream names are
// limited to letters, digits, '_' and '-' (see [validStream]), so the
// mapping is one-to-one.
func subjectFor(prefix, stream string) string {
	return prefix + "." + strings.Replace(stream, "-", ".", 1)
}

// validStream reports whether stream can be mapped to a subject.
func validStream(stream string) bool {
	if stream == "" || len(stream) > 200 {
		return false
	}
	for _, r := range stream {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
		default:
			return false
		}
	}
	return !strings.HasPrefix(stream, "-") && !strings.HasSuffix(stream, "-")
}

// encode returns the message body of ev.
func encode(ev *eventstore.Event) ([]byte, error) {
	return json.Marshal(record{ID: ev.ID, Stream: ev.Stream, Version: ev.Version, Type: ev.Type,
		Schema: ev.Schema, Time: eventstore.FormatTime(ev.Time), Actor: ev.Actor, Reason: ev.Reason,
		Trigger: ev.Trigger, CorrelationID: ev.CorrelationID, CausationID: ev.CausationID, Data: ev.Data,
		PrevHash: ev.PrevHash, Hash: ev.Hash, EffectiveOn: ev.EffectiveOn})
}

// newMsg returns the message that stores ev.
func newMsg(subject string, ev *eventstore.Event) (*nats.Msg, error) {
	body, err := encode(ev)
	if err != nil {
		return nil, err
	}
	m := nats.NewMsg(subject)
	m.Data = body
	m.Header.Set(nats.MsgIdHdr, ev.ID)
	m.Header.Set(HeaderVersion, strconv.FormatInt(ev.Version, 10))
	m.Header.Set(HeaderFormat, recordFormat)
	return m, nil
}

// decode reads the event stored in a message body at position seq.
func decode(body []byte, seq uint64) (eventstore.Event, error) {
	var r record
	if err := json.Unmarshal(body, &r); err != nil {
		return eventstore.Event{}, fmt.Errorf("jetstream: message %d is not an event record: %w", seq, err)
	}
	t, err := time.Parse(eventstore.TimeFormat, r.Time)
	if err != nil {
		return eventstore.Event{}, fmt.Errorf("jetstream: message %d: bad time %q: %w", seq, r.Time, err)
	}
	return eventstore.Event{ID: r.ID, Stream: r.Stream, Version: r.Version, Position: int64(seq), Type: r.Type,
		Schema: r.Schema, Time: t, Actor: r.Actor, Reason: r.Reason, Trigger: r.Trigger,
		CorrelationID: r.CorrelationID, CausationID: r.CausationID, EffectiveOn: r.EffectiveOn, Data: r.Data,
		PrevHash: r.PrevHash, Hash: r.Hash}, nil
}
