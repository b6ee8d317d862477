package eventstore

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// TimeFormat is the fixed-width layout in which event times are stored and
// hashed. Fixed width keeps lexical order equal to time order.
const TimeFormat = "2006-01-02T15:04:05.000000000Z"

// FormatTime renders t in [TimeFormat] (UTC).
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// ComputeHash returns the hex SHA-256 of the event's canonical encoding: every
// field except Hash, in a fixed order, each as a length-prefixed byte string,
// so no two different events share an encoding. Data is hashed as the exact
// bytes stored.
//
// The encoding is part of the on-disk format: changing it breaks every
// existing chain. Add a new encoding version instead. Version 2 adds
// EffectiveOn after CausationID; an event without EffectiveOn is hashed
// in version 1, so every chain recorded before the field existed still
// verifies.
func (e Event) ComputeHash() string {
	h := sha256.New()
	var n [8]byte
	field := func(s string) {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	if e.EffectiveOn == "" {
		field("partyledger-event-v1")
	} else {
		field("partyledger-event-v2")
	}
	field(e.ID)
	field(e.Stream)
	field(strconv.FormatInt(e.Version, 10))
	field(strconv.FormatInt(e.Position, 10))
	field(e.Type)
	field(strconv.Itoa(e.Schema))
	field(FormatTime(e.Time))
	field(e.Actor)
	field(e.Reason)
	field(e.Trigger)
	field(e.CorrelationID)
	field(e.CausationID)
	if e.EffectiveOn != "" {
		field(e.EffectiveOn)
	}
	field(string(e.Data))
	field(e.PrevHash)
	return hex.EncodeToString(h.Sum(nil))
}

// Validate reports what is wrong with an event handed to [Store.Append].
func (e Event) Validate() error {
	switch {
	case e.ID == "":
		return fmt.Errorf("%w: missing id", ErrInvalid)
	case e.Type == "":
		return fmt.Errorf("%w: missing type", ErrInvalid)
	case e.Schema < 1:
		return fmt.Errorf("%w: schema must be >= 1", ErrInvalid)
	case e.Time.IsZero():
		return fmt.Errorf("%w: missing time", ErrInvalid)
	case len(e.Data) == 0 || !json.Valid(e.Data):
		return fmt.Errorf("%w: data is not valid JSON", ErrInvalid)
	}
	return e.checkEffectiveOn()
}

// DateLayout is the layout of [Event.EffectiveOn].
const DateLayout = "2006-01-02"

// EffectiveDate returns the date the event took effect: EffectiveOn when
// set, else the UTC date of Time (the recording date).
func (e Event) EffectiveDate() string {
	if e.EffectiveOn != "" {
		return e.EffectiveOn
	}
	return e.Time.UTC().Format(DateLayout)
}

// checkEffectiveOn refuses an EffectiveOn that is not a YYYY-MM-DD date or
// lies after the UTC date of Time: a change cannot take effect after the
// day it was recorded.
func (e Event) checkEffectiveOn() error {
	if e.EffectiveOn == "" {
		return nil
	}
	d, err := time.Parse(DateLayout, e.EffectiveOn)
	if err != nil || d.Format(DateLayout) != e.EffectiveOn {
		return fmt.Errorf("%w: effective_on %q is not a date YYYY-MM-DD", ErrInvalid, e.EffectiveOn)
	}
	if e.EffectiveOn > e.Time.UTC().Format(DateLayout) {
		return fmt.Errorf("%w: effective_on %s is after the recording date %s", ErrInvalid,
			e.EffectiveOn, e.Time.UTC().Format(DateLayout))
	}
	return nil
}

// CanonicalData returns data in the one form that is stored and hashed:
// compact JSON with <, > and & escaped, exactly as encoding/json emits a
// json.RawMessage. Stores apply it before hashing, so that an envelope
// decoded from any JSON rendering of the event re-encodes to the same bytes
// and the same hash.
func CanonicalData(data []byte) ([]byte, error) {
	out, err := json.Marshal(json.RawMessage(data))
	if err != nil {
		return nil, fmt.Errorf("%w: data is not valid JSON", ErrInvalid)
	}
	return out, nil
}
