package eventstore_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/partyledger/partyledger/eventstore"
)

// oldEvent is an event as recorded before effective_on existed, with the
// hash it was stored with (computed by the code before effective_on): the
// v1 encoding must never change.
const oldEvent = `{"id":"01975f2a-0000-7000-8000-000000000001","stream":"party-a","version":1,"position":1,` +
	`"type":"party.identified","schema":1,"time":"2025-01-15T09:00:00Z","actor":"ciso@example.org",` +
	`"reason":"initial register","trigger":"other","correlation_id":"c","causation_id":"",` +
	`"data":{"name":"Acme"},"prev_hash":"","hash":"` + oldHash + `"}`

const oldHash = "fabc33a1df03af2e71de9137feb148960e22ab77fa28394a4735448c9717d944"

func TestOldEventDecodesAndVerifies(t *testing.T) {
	var ev eventstore.Event
	if err := json.Unmarshal([]byte(oldEvent), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.EffectiveOn != "" {
		t.Errorf("EffectiveOn = %q, want empty", ev.EffectiveOn)
	}
	if got := ev.EffectiveDate(); got != "2025-01-15" {
		t.Errorf("EffectiveDate = %q, want the recording date 2025-01-15", got)
	}
	if got := ev.ComputeHash(); got != oldHash {
		t.Errorf("ComputeHash = %s, want the recorded %s", got, oldHash)
	}
	if err := ev.CheckRoundTrip(); err != nil {
		t.Error(err)
	}
}

func TestEffectiveOnIsHashed(t *testing.T) {
	var ev eventstore.Event
	if err := json.Unmarshal([]byte(oldEvent), &ev); err != nil {
		t.Fatal(err)
	}
	v1 := ev.ComputeHash()
	ev.EffectiveOn = "2025-01-15" // the same day, said explicitly: still a different fact
	v2 := ev.ComputeHash()
	if v1 == v2 {
		t.Fatal("setting effective_on did not change the hash")
	}
	ev.EffectiveOn = "2025-01-14"
	if ev.ComputeHash() == v2 {
		t.Fatal("changing effective_on did not change the hash")
	}
	ev.Hash = ev.ComputeHash()
	if err := ev.CheckRoundTrip(); err != nil {
		t.Fatalf("an event with effective_on does not survive its JSON: %v", err)
	}
	b, _ := json.Marshal(ev)
	var back eventstore.Event
	if err := json.Unmarshal(b, &back); err != nil || back.EffectiveOn != "2025-01-14" || back.ComputeHash() != ev.Hash {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
}

func TestPrepareRefusesBadEffectiveOn(t *testing.T) {
	base := eventstore.Event{ID: "x", Type: "party.identified", Schema: 1,
		Time: time.Date(2025, 3, 14, 23, 30, 0, 0, time.UTC), Data: json.RawMessage(`{}`)}
	for _, tt := range []struct {
		on   string
		fail bool
	}{
		{"", false}, {"2025-03-14", false}, {"2020-01-01", false},
		{"2025-03-15", true}, {"2025-3-14", true}, {"2025-02-29", true}, {"yesterday", true},
	} {
		ev := base
		ev.EffectiveOn = tt.on
		_, err := eventstore.Prepare("party-a", []eventstore.Event{ev})
		if tt.fail != (err != nil) || (err != nil && !errors.Is(err, eventstore.ErrInvalid)) {
			t.Errorf("effective_on %q: err = %v, want failure %v matching ErrInvalid", tt.on, err, tt.fail)
		}
	}
}
