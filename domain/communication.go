package domain

import (
	"strings"
	"time"
)

// PlanEntryID identifies an entry of a party's communication plan (a UUID).
type PlanEntryID string

// CommunicationID identifies a communication that was sent (a UUID).
type CommunicationID string

// CommunicationStreamPrefix starts the stream of every communication sent:
// one stream per communication.
const CommunicationStreamPrefix = "communication-"

// Stream returns the name of the communication's event stream.
func (id CommunicationID) Stream() string { return CommunicationStreamPrefix + string(id) }

// Channels: how something is communicated (clause 7.4 d).
var Channels = enum{"email", "phone", "meeting", "letter", "web_announcement", "team_meeting", "other"}

// Limits of communications.
const MaxEvidenceRefLen = 2000

// CommunicationPlanFields and CommunicationSentFields give the display
// order of the fields of plan entries and of communications.
var (
	CommunicationPlanFields = []string{"plan_entry_id", "topic", "when", "frequency", "channel", "communicator", "priority"}
	CommunicationSentFields = []string{"plan_entry_id", "channel", "sent_by", "summary", "evidence_ref", "sent_at"}
)

// CommunicationPlanned records an entry of a party's communication plan
// (clause 7.4): what (Topic), when (When: a frequency such as monthly, or a
// trigger such as "within 72 h of a personal data breach"), with whom (the
// party), how (Channel) and who communicates (Communicator, a role).
// Frequency is When when When is one of [Frequencies], else "" (the entry is
// triggered by events, not due on dates).
type CommunicationPlanned struct {
	PartyID      PartyID     `json:"party_id"`
	PlanEntryID  PlanEntryID `json:"plan_entry_id"`
	Topic        string      `json:"topic"`
	When         string      `json:"when"`
	Frequency    string      `json:"frequency"`
	Channel      string      `json:"channel"`
	Communicator string      `json:"communicator"`
	Priority     string      `json:"priority"`
}

// CommunicationSent records a communication with a party: under a plan
// entry or ad hoc (PlanEntryID nil), on a channel, by whom, what was said
// and where the evidence is (a mail id, a URL, minutes).
type CommunicationSent struct {
	CommunicationID CommunicationID `json:"communication_id"`
	PartyID         PartyID         `json:"party_id"`
	PlanEntryID     *PlanEntryID    `json:"plan_entry_id"`
	Channel         string          `json:"channel"`
	SentBy          string          `json:"sent_by"`
	Summary         string          `json:"summary"`
	EvidenceRef     string          `json:"evidence_ref"`
	SentAt          string          `json:"sent_at"` // RFC 3339, UTC
}

func (CommunicationPlanned) EventType() string { return EventCommunicationPlanned }
func (CommunicationSent) EventType() string    { return EventCommunicationSent }

// PlanEntry is one entry of a party's communication plan.
type PlanEntry struct {
	ID           PlanEntryID
	Topic        string
	When         string
	Frequency    string
	Channel      string
	Communicator string
	Priority     string
}

// PlanCommunication adds an entry to a party's communication plan.
type PlanCommunication struct {
	Meta
	PartyID      PartyID
	PlanEntryID  PlanEntryID // chosen by the caller (a new UUID)
	Topic        string
	When         string // a frequency (one of Frequencies) or a trigger, in words
	Channel      string
	Communicator string
	Priority     string // empty means DefaultPriority
}

// PlanCommunication decides PlanCommunication.
func (p *Party) PlanCommunication(cmd PlanCommunication, now time.Time) ([]Event, error) {
	if err := p.mustBeActive(cmd.PartyID); err != nil {
		return nil, err
	}
	var v validation
	cmd.Meta.validate(&v, false)
	if !ValidID(string(cmd.PlanEntryID)) {
		v.add("id", "must be a UUID")
	}
	if cmd.Priority == "" {
		cmd.Priority = DefaultPriority
	}
	topic, when, who := strings.TrimSpace(cmd.Topic), strings.TrimSpace(cmd.When), strings.TrimSpace(cmd.Communicator)
	checkName(&v, "topic", topic, MaxNameLen)
	checkName(&v, "when", when, MaxShortLen)
	checkEnum(&v, "channel", cmd.Channel, Channels)
	checkName(&v, "communicator", who, MaxShortLen)
	checkEnum(&v, "priority", cmd.Priority, Priorities)
	if err := v.err(); err != nil {
		return nil, err
	}
	if _, dup := p.Plan[cmd.PlanEntryID]; dup {
		return nil, Errorf(ECONFLICT, "plan entry %s already exists", cmd.PlanEntryID)
	}
	freq := ""
	if f := strings.ToLower(when); Frequencies.has(f) {
		when, freq = f, f
	}
	return []Event{CommunicationPlanned{PartyID: p.ID, PlanEntryID: cmd.PlanEntryID, Topic: topic,
		When: when, Frequency: freq, Channel: cmd.Channel, Communicator: who, Priority: cmd.Priority}}, nil
}

// Communication is the state of a communication that was sent.
type Communication struct {
	ID      CommunicationID
	Version int64
	PartyID PartyID
}

// Exists reports whether the communication has been recorded.
func (c *Communication) Exists() bool { return c != nil && c.Version > 0 }

// Apply folds one event into the communication.
func (c *Communication) Apply(e Event) {
	c.Version++
	if e, ok := e.(CommunicationSent); ok {
		c.ID, c.PartyID = e.CommunicationID, e.PartyID
	}
}

// SendCommunication records that a communication was sent.
type SendCommunication struct {
	Meta
	CommunicationID CommunicationID // chosen by the caller (a new UUID)
	PartyID         PartyID
	PlanEntryID     *PlanEntryID // nil: ad hoc
	Channel         string       // empty with a plan entry: the entry's channel
	SentBy          string       // who communicated (a role or a name)
	Summary         string
	EvidenceRef     string // a mail id, a URL, a reference to minutes
	SentAt          string // RFC 3339 or YYYY-MM-DD; empty means now
}

// Send decides SendCommunication. party is the addressee's state (nil or
// empty when it does not exist); a retired party may still be written to.
// The plan entry, when given, must be one of the party's.
func (c *Communication) Send(cmd SendCommunication, party *Party, now time.Time) ([]Event, error) {
	if c.Exists() {
		return nil, Errorf(ECONFLICT, "communication %s already recorded", cmd.CommunicationID)
	}
	var v validation
	cmd.Meta.validate(&v, false)
	if !ValidID(string(cmd.CommunicationID)) {
		v.add("id", "must be a UUID")
	}
	switch {
	case cmd.PartyID == "":
		v.add("party_id", "is required")
	case !party.Exists():
		v.add("party_id", "no party %s", cmd.PartyID)
	}
	var entry *PlanEntry
	if cmd.PlanEntryID != nil && party.Exists() {
		if entry = party.Plan[*cmd.PlanEntryID]; entry == nil {
			v.add("plan_entry_id", "party %s has no plan entry %s", cmd.PartyID, *cmd.PlanEntryID)
		}
	}
	if cmd.Channel == "" && entry != nil {
		cmd.Channel = entry.Channel
	}
	checkEnum(&v, "channel", cmd.Channel, Channels)
	sentBy, summary, ref := strings.TrimSpace(cmd.SentBy), strings.TrimSpace(cmd.Summary), strings.TrimSpace(cmd.EvidenceRef)
	checkName(&v, "sent_by", sentBy, MaxShortLen)
	if summary == "" {
		v.add("summary", "is required")
	}
	checkText(&v, "summary", summary, MaxTextLen)
	checkLine(&v, "evidence_ref", ref, MaxEvidenceRefLen)
	at := now.UTC().Truncate(time.Second).Format(time.RFC3339)
	if cmd.SentAt != "" {
		at = checkInstant(&v, "sent_at", cmd.SentAt, now)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	return []Event{CommunicationSent{CommunicationID: cmd.CommunicationID, PartyID: party.ID,
		PlanEntryID: clonePtr(cmd.PlanEntryID), Channel: cmd.Channel, SentBy: sentBy, Summary: summary,
		EvidenceRef: ref, SentAt: at}}, nil
}
