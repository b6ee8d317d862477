package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// RelationshipID identifies a relationship between two parties (a UUID).
type RelationshipID string

// RelationshipStreamPrefix starts the stream of every relationship: one
// stream per relationship.
const RelationshipStreamPrefix = "relationship-"

// Stream returns the name of the relationship's event stream.
func (id RelationshipID) Stream() string { return RelationshipStreamPrefix + string(id) }

// Stable event type names of relationships. They are stored with every
// event: never rename one.
const (
	EventRelationshipEstablished = "relationship.established"
	EventRelationshipRevised     = "relationship.revised"
	EventRelationshipEnded       = "relationship.ended"
)

// RelationshipKindOther is the kind that needs a label to say what it is.
const RelationshipKindOther = "other"

// RelationshipKinds is the controlled vocabulary of relationships, each read
// from → to ("A supplies B"). docs/relationships.md says what each means.
var RelationshipKinds = enum{"supplies", "regulates", "audits", "represents", "owns",
	"contracts_with", "depends_on", "influences", "competes_with", RelationshipKindOther}

// StatusEnded is the status of a relationship that no longer holds.
const StatusEnded = "ended"

// RelationshipFields gives the display order of a relationship's fields.
var RelationshipFields = []string{"from_party_id", "to_party_id", "kind", "label", "description", "status"}

// RelationshipEstablished records a directed relationship from one party to
// another: From <kind> To, e.g. "Cloud provider supplies Customers".
type RelationshipEstablished struct {
	RelationshipID RelationshipID `json:"relationship_id"`
	FromPartyID    PartyID        `json:"from_party_id"`
	ToPartyID      PartyID        `json:"to_party_id"`
	Kind           string         `json:"kind"`
	Label          string         `json:"label"`
	Description    string         `json:"description"`
}

// RelationshipRevised records changed fields of a relationship (kind,
// label, description). Its ends never change: a relationship between other
// parties is another relationship.
type RelationshipRevised struct {
	RelationshipID RelationshipID `json:"relationship_id"`
	Changes        Changes        `json:"changes"`
}

// RelationshipEnded records that a relationship no longer holds. Its
// history stays.
type RelationshipEnded struct {
	RelationshipID RelationshipID `json:"relationship_id"`
	Changes        Changes        `json:"changes"`
}

func (RelationshipEstablished) EventType() string { return EventRelationshipEstablished }
func (RelationshipRevised) EventType() string     { return EventRelationshipRevised }
func (RelationshipEnded) EventType() string       { return EventRelationshipEnded }

// The relationship aggregate's events, registered in the one event registry.
var _ = RegisterEvents(Def[RelationshipEstablished](), Def[RelationshipRevised](), Def[RelationshipEnded]())

// Relationship is the state of one relationship, folded from its stream.
type Relationship struct {
	ID          RelationshipID
	Version     int64
	From        PartyID
	To          PartyID
	Kind        string
	Label       string
	Description string
	Status      string // StatusActive or StatusEnded
}

// Exists reports whether the relationship has been established.
func (r *Relationship) Exists() bool { return r != nil && r.Status != "" }

// Apply folds one event into the relationship. Events of other aggregates
// are ignored. Apply never fails: events are facts.
func (r *Relationship) Apply(e Event) {
	r.Version++
	switch e := e.(type) {
	case RelationshipEstablished:
		r.ID, r.From, r.To = e.RelationshipID, e.FromPartyID, e.ToPartyID
		r.Kind, r.Label, r.Description = e.Kind, e.Label, e.Description
		r.Status = StatusActive
	case RelationshipRevised:
		for f, ch := range e.Changes {
			switch f {
			case "kind":
				r.Kind = asString(ch.To)
			case "label":
				r.Label = asString(ch.To)
			case "description":
				r.Description = asString(ch.To)
			}
		}
	case RelationshipEnded:
		r.Status = StatusEnded
	}
}

// FoldRelationship rebuilds a relationship from its events, oldest first.
func FoldRelationship(events []Event) *Relationship {
	r := &Relationship{}
	for _, e := range events {
		r.Apply(e)
	}
	return r
}

// RelationshipDirectory answers the questions about other aggregates that a
// relationship decision needs and cannot see in its own stream. The service
// implements it from the read models; tests implement it with maps.
type RelationshipDirectory interface {
	// PartyStatus returns the party's status, or "" if no such party exists.
	PartyStatus(id PartyID) string
	// ActiveRelationship returns the active relationship from → to of the
	// given kind, if there is one.
	ActiveRelationship(from, to PartyID, kind string) (RelationshipID, bool)
}

// EstablishRelationship records a directed relationship between two parties.
type EstablishRelationship struct {
	Meta
	RelationshipID RelationshipID // chosen by the caller (a new UUID)
	FromPartyID    PartyID
	ToPartyID      PartyID
	Kind           string // one of RelationshipKinds
	Label          string // required for kind "other"; an optional qualifier otherwise
	Description    string
}

// ReviseRelationship changes some fields of a relationship. A nil field is
// left alone.
type ReviseRelationship struct {
	Meta
	RelationshipID RelationshipID
	Kind           *string
	Label          *string
	Description    *string
}

// EndRelationship records that a relationship no longer holds.
type EndRelationship struct {
	Meta
	RelationshipID RelationshipID
}

// Establish decides EstablishRelationship against an empty stream.
//
// It fails with EINVALID (naming every offending field) for a malformed id,
// an unknown kind, "other" without a label, from = to or a retired party;
// then with ENOTFOUND for a party id that does not exist; then with
// ECONFLICT when an active relationship with the same (from, to, kind)
// exists or the stream is not empty.
func (r *Relationship) Establish(cmd EstablishRelationship, dir RelationshipDirectory, now time.Time) ([]Event, error) {
	if r.Exists() {
		return nil, Errorf(ECONFLICT, "relationship %s already exists", cmd.RelationshipID)
	}
	var v validation
	cmd.Meta.validate(&v, false)
	if !ValidID(string(cmd.RelationshipID)) {
		v.add("id", "must be a UUID")
	}
	label := strings.TrimSpace(cmd.Label)
	checkRelationshipKind(&v, cmd.Kind, label)
	checkText(&v, "description", cmd.Description, MaxTextLen)
	var missing []FieldError
	for _, end := range []struct {
		field string
		id    PartyID
	}{{"from_party_id", cmd.FromPartyID}, {"to_party_id", cmd.ToPartyID}} {
		switch {
		case end.id == "":
			v.add(end.field, "is required")
		case !ValidID(string(end.id)):
			v.add(end.field, "must be a party id (UUID)")
		case dir.PartyStatus(end.id) == "":
			missing = append(missing, FieldError{Field: end.field, Message: "no party " + string(end.id)})
		case dir.PartyStatus(end.id) != StatusActive:
			v.add(end.field, "party %s is retired", end.id)
		}
	}
	if cmd.FromPartyID != "" && cmd.FromPartyID == cmd.ToPartyID {
		v.add("to_party_id", "must differ from from_party_id: relationships are between two parties")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		return nil, &Error{Code: ENOTFOUND, Message: "no such party", Fields: missing}
	}
	if err := checkDuplicate(dir, "", cmd.FromPartyID, cmd.ToPartyID, cmd.Kind); err != nil {
		return nil, err
	}
	return []Event{RelationshipEstablished{RelationshipID: cmd.RelationshipID, FromPartyID: cmd.FromPartyID,
		ToPartyID: cmd.ToPartyID, Kind: cmd.Kind, Label: label, Description: cmd.Description}}, nil
}

// Revise decides ReviseRelationship. It returns no events when nothing
// changes. It fails with ENOTFOUND for a relationship that does not exist,
// ECONFLICT for an ended one or one whose party is retired, EINVALID for bad
// fields, and ECONFLICT when the new kind duplicates another active
// relationship between the same parties.
func (r *Relationship) Revise(cmd ReviseRelationship, dir RelationshipDirectory, now time.Time) ([]Event, error) {
	if err := r.mustBeActive(cmd.RelationshipID); err != nil {
		return nil, err
	}
	for _, id := range []PartyID{r.From, r.To} {
		if dir.PartyStatus(id) != StatusActive {
			return nil, Errorf(ECONFLICT, "party %s is retired; its relationships cannot change, only end", id)
		}
	}
	var v validation
	cmd.Meta.validate(&v, true)
	kind, label := r.Kind, r.Label
	if cmd.Kind != nil {
		kind = *cmd.Kind
	}
	if cmd.Label != nil {
		label = strings.TrimSpace(*cmd.Label)
	}
	checkRelationshipKind(&v, kind, label)
	ch := Changes{}
	if kind != r.Kind {
		ch["kind"] = Change{r.Kind, kind}
	}
	if label != r.Label {
		ch["label"] = Change{r.Label, label}
	}
	setText(&v, ch, "description", r.Description, cmd.Description, MaxTextLen)
	if err := v.err(); err != nil {
		return nil, err
	}
	if _, ok := ch["kind"]; ok {
		if err := checkDuplicate(dir, r.ID, r.From, r.To, kind); err != nil {
			return nil, err
		}
	}
	if len(ch) == 0 {
		return nil, nil
	}
	return []Event{RelationshipRevised{RelationshipID: r.ID, Changes: ch}}, nil
}

// End decides EndRelationship. A relationship whose party was retired may
// still be ended, to tidy the record.
func (r *Relationship) End(cmd EndRelationship, now time.Time) ([]Event, error) {
	if err := r.mustBeActive(cmd.RelationshipID); err != nil {
		return nil, err
	}
	var v validation
	cmd.Meta.validate(&v, true)
	if err := v.err(); err != nil {
		return nil, err
	}
	return []Event{RelationshipEnded{RelationshipID: r.ID,
		Changes: Changes{"status": {StatusActive, StatusEnded}}}}, nil
}

// mustBeActive fails with ENOTFOUND if the relationship does not exist (id
// is the one the command asked for) and ECONFLICT if it has ended.
func (r *Relationship) mustBeActive(id RelationshipID) error {
	if !r.Exists() {
		return Errorf(ENOTFOUND, "no relationship %s", id)
	}
	if r.Status != StatusActive {
		return Errorf(ECONFLICT, "relationship %s has ended; ended relationships cannot change", r.ID)
	}
	return nil
}

// checkRelationshipKind validates a kind with its label: "other" needs a
// label, and a label is one line.
func checkRelationshipKind(v *validation, kind, label string) {
	checkEnum(v, "kind", kind, RelationshipKinds)
	if kind == RelationshipKindOther && label == "" {
		v.add("label", "is required when kind is other: say what the relationship is")
	}
	if label != "" {
		checkName(v, "label", label, MaxShortLen)
	}
}

// checkDuplicate fails with ECONFLICT when another active relationship than
// self has the same (from, to, kind).
func checkDuplicate(dir RelationshipDirectory, self RelationshipID, from, to PartyID, kind string) error {
	if other, ok := dir.ActiveRelationship(from, to, kind); ok && other != self {
		return duplicateRelationship(other)
	}
	return nil
}

// Relationship key reservation events. They keep (from, to, kind) unique
// among active relationships as data, as name reservations do for party
// names: each key has a reservation stream, claimed in the same atomic
// append as the relationship.established (or the revision that changes the
// kind) and released with relationship.ended (or that revision). Two
// writers racing for one key, in one process or in several on one store,
// both expect the same version of the key's stream: the store lets exactly
// one through.
const (
	EventRelationshipKeyClaimed  = "relationship_key.claimed"
	EventRelationshipKeyReleased = "relationship_key.released"
)

var _ = RegisterEvents(InternalDef[RelationshipKeyClaimed](), InternalDef[RelationshipKeyReleased]())

// RelationshipKeyClaimed records that a relationship took the key (from,
// to, kind).
type RelationshipKeyClaimed struct {
	FromPartyID    PartyID        `json:"from_party_id"`
	ToPartyID      PartyID        `json:"to_party_id"`
	Kind           string         `json:"kind"`
	RelationshipID RelationshipID `json:"relationship_id"`
}

// RelationshipKeyReleased records that a relationship gave the key up.
type RelationshipKeyReleased struct {
	FromPartyID    PartyID        `json:"from_party_id"`
	ToPartyID      PartyID        `json:"to_party_id"`
	Kind           string         `json:"kind"`
	RelationshipID RelationshipID `json:"relationship_id"`
}

func (RelationshipKeyClaimed) EventType() string  { return EventRelationshipKeyClaimed }
func (RelationshipKeyReleased) EventType() string { return EventRelationshipKeyReleased }

// RelationshipKeyStreamPrefix starts the name of every relationship key
// reservation stream.
const RelationshipKeyStreamPrefix = "relkey-"

// RelationshipKeyStream returns the stream that reserves (from, to, kind):
// the prefix and the first 32 hex digits of the SHA-256 of the three,
// separated by NUL bytes.
func RelationshipKeyStream(from, to PartyID, kind string) string {
	sum := sha256.Sum256([]byte(string(from) + "\x00" + string(to) + "\x00" + kind))
	return RelationshipKeyStreamPrefix + hex.EncodeToString(sum[:16])
}

// RelationshipKey is the state of one key reservation stream.
type RelationshipKey struct {
	Version int64          // stream version of the last applied event
	Holder  RelationshipID // the relationship that holds the key; "" when free
}

// Apply folds one event of the key's stream.
func (k *RelationshipKey) Apply(e Event) {
	k.Version++
	switch e := e.(type) {
	case RelationshipKeyClaimed:
		k.Holder = e.RelationshipID
	case RelationshipKeyReleased:
		if k.Holder == e.RelationshipID {
			k.Holder = ""
		}
	}
}

// Claim decides whether relationship id may take the key (from, to, kind):
// the claim event, nothing when it already holds it, or ECONFLICT naming
// the holder.
func (k *RelationshipKey) Claim(id RelationshipID, from, to PartyID, kind string) ([]Event, error) {
	switch k.Holder {
	case id:
		return nil, nil
	case "":
		return []Event{RelationshipKeyClaimed{FromPartyID: from, ToPartyID: to, Kind: kind, RelationshipID: id}}, nil
	}
	return nil, duplicateRelationship(k.Holder)
}

// Release decides that relationship id gives the key up. It releases
// nothing when id does not hold it (a relationship established before key
// reservations existed).
func (k *RelationshipKey) Release(id RelationshipID, from, to PartyID, kind string) []Event {
	if k.Holder != id {
		return nil
	}
	return []Event{RelationshipKeyReleased{FromPartyID: from, ToPartyID: to, Kind: kind, RelationshipID: id}}
}

// duplicateRelationship is the ECONFLICT of a second active relationship
// with the same (from, to, kind).
func duplicateRelationship(other RelationshipID) error {
	msg := "is already used by an active relationship between these parties"
	if other != "" {
		msg = "is already used by relationship " + string(other)
	}
	return &Error{Code: ECONFLICT, Message: "an active relationship with the same parties and kind already exists",
		Fields: []FieldError{{Field: "kind", Message: msg}}}
}
