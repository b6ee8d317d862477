package verify_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/eventstore/verify"
)

// An event written before the store refused invalid UTF-8 hashes fine from
// the database's bytes, but its JSON export carries U+FFFD and can never
// verify: Verify must report it, at its position, from the log alone.
func TestVerifyReportsEventThatDoesNotRoundTrip(t *testing.T) {
	mk := func(pos int64, corr, prev string) eventstore.Event {
		ev := eventstore.Event{ID: "0190f1a2-0000-7000-8000-00000000000" + string(rune('0'+pos)), Stream: "party-a",
			Version: pos, Position: pos, Type: "party.revised", Schema: 1, Time: t0, Actor: "alice",
			Trigger: "other", CorrelationID: corr, Data: json.RawMessage(`{"n":1}`), PrevHash: prev}
		ev.Hash = ev.ComputeHash()
		return ev
	}
	e1 := mk(1, "ok", "")
	e2 := mk(2, "bad\xff\xfeutf8", e1.Hash)
	e3 := mk(3, "ok", e2.Hash)
	seq := func(yield func(eventstore.Event, error) bool) {
		for _, e := range []eventstore.Event{e1, e2, e3} {
			if !yield(e, nil) {
				return
			}
		}
	}
	res, err := verify.Verify(t.Context(), seq, verify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK || res.FirstFailure == nil || res.FirstFailure.Position != 2 || !strings.Contains(res.FirstFailure.Reason, "round trip") {
		t.Fatalf("Verify = %+v, want a round-trip failure at position 2", res.FirstFailure)
	}
}
