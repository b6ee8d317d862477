package eventstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// CheckRoundTrip reports whether e survives its own JSON encoding: every
// string field is valid UTF-8 and the envelope decoded from e's JSON has
// the same hash as e. An event that fails it could be stored and hashed,
// but every JSON rendering of it (the API, webhooks, the audit export)
// would carry different bytes, so its own export could never verify it.
// [Prepare] refuses such events and the verifier reports them.
//
// The error matches [ErrInvalid] and names the first offending field.
func (e Event) CheckRoundTrip() error {
	for _, f := range []struct{ name, v string }{
		{"id", e.ID}, {"stream", e.Stream}, {"type", e.Type}, {"actor", e.Actor},
		{"reason", e.Reason}, {"trigger", e.Trigger}, {"correlation_id", e.CorrelationID},
		{"causation_id", e.CausationID}, {"effective_on", e.EffectiveOn}, {"prev_hash", e.PrevHash}, {"hash", e.Hash},
	} {
		if !utf8.ValidString(f.v) {
			return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalid, f.name)
		}
	}
	if !utf8.Valid(e.Data) {
		return fmt.Errorf("%w: data is not valid UTF-8", ErrInvalid)
	}
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("%w: the envelope cannot be encoded as JSON: %v", ErrInvalid, err)
	}
	var back Event
	if err := json.Unmarshal(b, &back); err != nil {
		return fmt.Errorf("%w: the envelope's JSON does not decode: %v", ErrInvalid, err)
	}
	if !bytes.Equal(back.Data, e.Data) {
		return fmt.Errorf("%w: data is not in canonical form and changes in a JSON round trip", ErrInvalid)
	}
	if back.ComputeHash() != e.ComputeHash() {
		return fmt.Errorf("%w: the envelope changes in a JSON round trip", ErrInvalid)
	}
	return nil
}
