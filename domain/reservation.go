package domain

import (
	"crypto/sha256"
	"encoding/hex"
)

// Name reservation events. They keep party names unique as data rather than
// behind a lock: each normalised name has a reservation stream, and the
// event that takes a name (identification, rename) is appended in one
// atomic multi-stream append with a claim on that stream at its expected
// version, the event that frees it (rename, retirement) with a release. Two
// writers racing for one name, in one process or in two processes on one
// NATS JetStream, both expect the same version: the store lets exactly one
// through.
const (
	EventNameClaimed  = "name.claimed"
	EventNameReleased = "name.released"
)

var _ = RegisterEvents(InternalDef[NameClaimed](), InternalDef[NameReleased]())

// NameClaimed records that a party took a name.
type NameClaimed struct {
	Key     string  `json:"key"` // NormalizeName(name)
	Name    string  `json:"name"`
	PartyID PartyID `json:"party_id"`
}

// NameReleased records that a party gave a name up.
type NameReleased struct {
	Key     string  `json:"key"`
	Name    string  `json:"name"`
	PartyID PartyID `json:"party_id"`
}

func (NameClaimed) EventType() string  { return EventNameClaimed }
func (NameReleased) EventType() string { return EventNameReleased }

// ReservationStream returns the stream that reserves name: "name-" and the
// first 32 hex digits of the SHA-256 of [NormalizeName](name), so that every
// spelling that normalises alike shares one stream, whatever characters
// the name holds.
func ReservationStream(name string) string {
	sum := sha256.Sum256([]byte(NormalizeName(name)))
	return ReservationStreamPrefix + hex.EncodeToString(sum[:16])
}

// ReservationStreamPrefix starts the name of every reservation stream.
const ReservationStreamPrefix = "name-"

// NameReservation is the state of one reservation stream.
type NameReservation struct {
	Version int64   // stream version of the last applied event
	Holder  PartyID // the party that holds the name; "" when free
}

// Apply folds one event of the reservation stream.
func (r *NameReservation) Apply(e Event) {
	r.Version++
	switch e := e.(type) {
	case NameClaimed:
		r.Holder = e.PartyID
	case NameReleased:
		if r.Holder == e.PartyID {
			r.Holder = ""
		}
	}
}

// Claim decides whether party may take name: it returns the claim event,
// or ECONFLICT naming the holder when another party holds it. A party that
// already holds the name claims nothing.
func (r *NameReservation) Claim(party PartyID, name string) ([]Event, error) {
	switch r.Holder {
	case party:
		return nil, nil
	case "":
		return []Event{NameClaimed{Key: NormalizeName(name), Name: name, PartyID: party}}, nil
	}
	return nil, &Error{Code: ECONFLICT, Message: "an active party with this name already exists",
		Fields: []FieldError{{Field: "name", Message: "is already used by party " + string(r.Holder)}}}
}

// Release decides that party gives name up. It releases nothing when party
// does not hold it (a name taken before reservations existed).
func (r *NameReservation) Release(party PartyID, name string) []Event {
	if r.Holder != party {
		return nil
	}
	return []Event{NameReleased{Key: NormalizeName(name), Name: name, PartyID: party}}
}
