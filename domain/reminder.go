package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Stable names of the events of owner contacts and reminders. They are
// stored with every event: never rename one.
const (
	EventOwnerContactsSet = "owner.contacts_set"
	EventReminderClaimed  = "reminder.claimed"
	EventReminderSent     = "reminder.sent"
	EventReminderFailed   = "reminder.failed"
)

// Stream prefixes of owner contacts (one stream per owner) and of reminder
// digests (one stream per owner and cadence window).
const (
	OwnerStreamPrefix    = "owner-"
	ReminderStreamPrefix = "reminder-"
)

// Limits of owner contacts.
const (
	MaxOwnerLen       = 200
	MaxOwnerEmails    = 20
	MaxEmailLen       = 254
	ReminderActor     = "reminders" // the actor of scheduled digests
	ReminderWindowFmt = DateLayout  // a cadence window is one local day
)

// OwnerKey is the stable, stream-safe key of an owner role: the
// case-folded name reduced to ASCII letters, digits and '-', followed by a
// short hash of the case-folded name so that two names that reduce to the
// same letters ("R&D", "R D") keep apart. Names that differ only in case or
// surrounding blanks share one key.
func OwnerKey(owner string) string {
	n := NormalizeName(owner)
	var b strings.Builder
	dash := false
	for _, r := range n {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
		if b.Len() >= 60 {
			break
		}
	}
	sum := sha256.Sum256([]byte(n))
	if b.Len() == 0 {
		return hex.EncodeToString(sum[:6])
	}
	return b.String() + "-" + hex.EncodeToString(sum[:4])
}

// OwnerStream returns the stream of an owner's contacts.
func OwnerStream(owner string) string { return OwnerStreamPrefix + OwnerKey(owner) }

// ReminderStream returns the stream that claims and records the digest of
// owner for one cadence window (a date, YYYY-MM-DD). Its first event is
// appended with the expected version "no stream": whoever appends it first,
// in any process or replica, owns the window.
func ReminderStream(owner, window string) string {
	return ReminderStreamPrefix + OwnerKey(owner) + "-" + strings.ReplaceAll(window, "-", "")
}

// OwnerContactsSet records the e-mail addresses at which an owner role is
// reminded. An empty list removes them.
type OwnerContactsSet struct {
	Owner  string   `json:"owner"`
	Emails []string `json:"emails"`
}

// ReminderItemRef names one item of a digest: its kind (review_due,
// communication_due, kpi_measurement_due, action_due, undecided) and id.
type ReminderItemRef struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// ReminderClaimed records that a process took on the digest of Owner for
// Window. It is the first event of the window's stream, so only one
// process can append it.
type ReminderClaimed struct {
	Owner  string            `json:"owner"`
	Window string            `json:"window"`
	Items  []ReminderItemRef `json:"items"`
}

// ReminderSent records a digest sent: to whom, which items, and the SMTP
// Message-ID under which the mail server accepted it.
type ReminderSent struct {
	Owner      string            `json:"owner"`
	Window     string            `json:"window"`
	Recipients []string          `json:"recipients"`
	Items      []ReminderItemRef `json:"items"`
	MessageID  string            `json:"message_id"`
	Attempts   int               `json:"attempts"`
}

// ReminderFailed records a digest that could not be sent after Attempts
// tries, with the last error. A later run in the same window may claim it
// again.
type ReminderFailed struct {
	Owner      string            `json:"owner"`
	Window     string            `json:"window"`
	Recipients []string          `json:"recipients"`
	Items      []ReminderItemRef `json:"items"`
	Error      string            `json:"error"`
	Attempts   int               `json:"attempts"`
}

func (OwnerContactsSet) EventType() string { return EventOwnerContactsSet }
func (ReminderClaimed) EventType() string  { return EventReminderClaimed }
func (ReminderSent) EventType() string     { return EventReminderSent }
func (ReminderFailed) EventType() string   { return EventReminderFailed }

// The reminder events, registered in the one event registry.
var _ = RegisterEvents(Def[OwnerContactsSet](), Def[ReminderClaimed](), Def[ReminderSent](), Def[ReminderFailed]())

// SetOwnerContacts sets the e-mail addresses of an owner role.
type SetOwnerContacts struct {
	Owner  string
	Emails []string
	Meta   Meta
}

// DecideOwnerContacts validates cmd against the owner's current addresses
// and returns the event to append: none when nothing changes. Each address
// must be a bare address (the edges parse what users type with net/mail
// first, see handlers/reminders); duplicates are removed. It returns EINVALID naming every bad
// field.
func DecideOwnerContacts(current []string, cmd SetOwnerContacts) ([]Event, error) {
	v := &validation{}
	cmd.Meta.validate(v, false)
	owner := strings.TrimSpace(cmd.Owner)
	switch {
	case owner == "":
		v.add("owner", "is required")
	case len(owner) > MaxOwnerLen:
		v.add("owner", "must be at most %d characters", MaxOwnerLen)
	}
	if len(cmd.Emails) > MaxOwnerEmails {
		v.add("emails", "must list at most %d addresses", MaxOwnerEmails)
	}
	emails := []string{}
	for i, e := range cmd.Emails {
		addr := strings.TrimSpace(e)
		if err := checkEmail(addr); err != nil {
			v.add("emails["+strconv.Itoa(i)+"]", "%s", err.Error())
			continue
		}
		if !slices.Contains(emails, addr) {
			emails = append(emails, addr)
		}
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if slices.Equal(emails, current) {
		return nil, nil
	}
	return []Event{OwnerContactsSet{Owner: owner, Emails: emails}}, nil
}

// checkEmail is the domain's own, minimal check of an address that the
// edge has already parsed with net/mail (which the pure domain may not
// import): one '@', a local part, a domain with a dot (or localhost), no
// blanks or angle brackets.
func checkEmail(s string) error {
	if s == "" {
		return errors.New("must not be empty")
	}
	if len(s) > MaxEmailLen {
		return fmt.Errorf("must be at most %d characters", MaxEmailLen)
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || strings.ContainsAny(s, " \t\r\n<>,") {
		return errors.New("must be a bare e-mail address such as jo@example.com")
	}
	if host := s[at+1:]; !strings.Contains(host, ".") && host != "localhost" {
		return errors.New("must be an e-mail address with a domain such as example.com")
	}
	return nil
}
