package domain

import (
	"slices"
	"strings"
	"time"
)

// ManagementReview is the state of a management review (clause 9.3).
type ManagementReview struct {
	ID        ReviewID
	Version   int64
	HeldOn    string
	Title     string
	Attendees []string
	Notes     string
}

// Exists reports whether the review has been recorded.
func (r *ManagementReview) Exists() bool { return r != nil && r.Version > 0 }

// Apply folds one event into the review.
func (r *ManagementReview) Apply(e Event) {
	r.Version++
	if e, ok := e.(ManagementReviewHeld); ok {
		r.ID, r.HeldOn, r.Title, r.Notes = e.ReviewID, e.HeldOn, e.Title, e.Notes
		r.Attendees = slices.Clone(e.Attendees)
	}
}

// HoldManagementReview records a management review that took place.
type HoldManagementReview struct {
	Meta
	ReviewID  ReviewID // chosen by the caller (a new UUID)
	HeldOn    string   // YYYY-MM-DD
	Title     string
	Attendees []string
	Notes     string
}

// Hold decides HoldManagementReview. Its date is required and may be at most
// one day after the UTC date of now: somewhere on earth it may already be
// tomorrow, but never the day after.
func (r *ManagementReview) Hold(cmd HoldManagementReview, now time.Time) ([]Event, error) {
	if r.Exists() {
		return nil, Errorf(ECONFLICT, "management review %s already recorded", cmd.ReviewID)
	}
	var v validation
	cmd.Meta.validate(&v, false)
	if !ValidID(string(cmd.ReviewID)) {
		v.add("id", "must be a UUID")
	}
	if cmd.HeldOn == "" {
		v.add("held_on", "is required (YYYY-MM-DD)")
	} else if d, err := time.Parse(DateLayout, cmd.HeldOn); err != nil {
		v.add("held_on", "must be a date YYYY-MM-DD")
	} else if d.After(utcDate(now).Add(maxFutureReviewed)) {
		v.add("held_on", "is in the future; record a review once it has been held")
	}
	title := strings.TrimSpace(cmd.Title)
	if title == "" {
		title = "Management review " + cmd.HeldOn
	}
	checkName(&v, "title", title, MaxNameLen)
	if len(cmd.Attendees) > MaxAttendees {
		v.add("attendees", "has %d entries; at most %d are allowed", len(cmd.Attendees), MaxAttendees)
	}
	attendees := make([]string, 0, len(cmd.Attendees))
	for _, a := range cmd.Attendees {
		a = strings.TrimSpace(a)
		checkName(&v, "attendees", a, MaxShortLen)
		attendees = append(attendees, a)
	}
	checkText(&v, "notes", cmd.Notes, MaxTextLen)
	if err := v.err(); err != nil {
		return nil, err
	}
	return []Event{ManagementReviewHeld{ReviewID: cmd.ReviewID, HeldOn: cmd.HeldOn, Title: title,
		Attendees: attendees, Notes: cmd.Notes}}, nil
}

// utcDate returns midnight UTC of t's UTC calendar date.
func utcDate(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
