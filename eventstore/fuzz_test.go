package eventstore

import (
	"encoding/json"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzEnvelope decodes arbitrary JSON as an envelope: no panic, and a
// decoded envelope re-encodes to one with the same hash.
func FuzzEnvelope(f *testing.F) {
	e := Event{ID: "0190f1a2-0000-7000-8000-000000000001", Stream: "party-x", Version: 1, Position: 1,
		Type: "party.identified", Schema: 1, Time: time.Date(2026, 1, 1, 0, 0, 0, 5, time.UTC), Actor: "a",
		Trigger: "other", Data: json.RawMessage(`{"name":"ü"}`)}
	e.Hash = e.ComputeHash()
	seed, _ := json.Marshal(e)
	f.Add(seed)
	f.Add([]byte(`{"id":"x","data":null}`))
	f.Add([]byte(`{"id":"x","type":"t","schema":1,"time":"2026-01-01T00:00:00Z","data":{"a": "<b>"}}`))
	f.Add([]byte(`{"time":"0000-01-01T00:00:00Z","version":-1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var ev Event
		if err := json.Unmarshal(b, &ev); err != nil || ev.Validate() != nil {
			return // only valid envelopes are ever hashed and stored
		}
		data, err := CanonicalData(ev.Data)
		if err != nil {
			t.Fatalf("valid data refused: %v", err)
		}
		ev.Data = data // as a store keeps it
		h := ev.ComputeHash()
		again, err := json.Marshal(ev)
		if err != nil {
			return // e.g. a time outside what JSON can carry
		}
		var back Event
		if err := json.Unmarshal(again, &back); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if back.ComputeHash() != h {
			t.Fatalf("hash changed across a JSON round trip: %s", again)
		}
	})
}

// FuzzRoundTrip builds envelopes with arbitrary string fields: an envelope
// that CheckRoundTrip accepts must come back from its JSON with the same
// hash, and one with invalid UTF-8 anywhere must be refused.
func FuzzRoundTrip(f *testing.F) {
	f.Add("corr", "reason", []byte(`{"a":1}`))
	f.Add("bad\xff\xfeutf8", "r", []byte(`{}`))
	f.Add("<script>", "\u2028", []byte(`{"a":"\u00e9<>&"}`))
	f.Fuzz(func(t *testing.T, corr, reason string, data []byte) {
		ev := Event{ID: "0190f1a2-0000-7000-8000-000000000001", Stream: "party-x", Version: 1, Position: 1,
			Type: "party.identified", Schema: 1, Time: time.Date(2026, 1, 1, 0, 0, 0, 5, time.UTC),
			Actor: "a", Reason: reason, Trigger: "other", CorrelationID: corr, CausationID: corr}
		if !json.Valid(data) {
			return
		}
		canon, err := CanonicalData(data)
		if err != nil {
			return
		}
		ev.Data = canon
		ev.Hash = ev.ComputeHash()
		err = ev.CheckRoundTrip()
		if !utf8.ValidString(corr) || !utf8.ValidString(reason) || !utf8.Valid(canon) {
			if err == nil {
				t.Fatalf("invalid UTF-8 accepted: %q %q %q", corr, reason, canon)
			}
			return
		}
		if err != nil {
			return
		}
		b, _ := json.Marshal(ev)
		var back Event
		if err := json.Unmarshal(b, &back); err != nil || back.ComputeHash() != ev.Hash {
			t.Fatalf("accepted envelope changed in a round trip: %s (%v)", b, err)
		}
	})
}
