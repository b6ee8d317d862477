package eventstore

import (
	"encoding/json"
	"testing"
	"time"
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
