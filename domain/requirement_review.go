package domain

import (
	"time"
)

// ReviewOutcomes are the results of a periodic review of a requirement.
var ReviewOutcomes = enum{"unchanged", "changed", "retired"}

// Outcomes of a requirement review.
const (
	OutcomeUnchanged = "unchanged"
	OutcomeChanged   = "changed"
	OutcomeRetired   = "retired"
)

// ReviewTrigger is the trigger a requirement review carries when the caller
// names none.
const ReviewTrigger = "periodic_review"

// RequirementReviewFields gives the display order of a review's fields.
var RequirementReviewFields = []string{"outcome", "notes", "review_due"}

// RequirementReviewed records a periodic review of a requirement: its
// outcome, notes and the date of the next review. A review with outcome
// "changed" is appended together with the requirement.revised event it
// decided, one with outcome "retired" together with requirement.retired
// (both before it, in the same append). Changes holds review_due when the
// review moved it.
type RequirementReviewed struct {
	PartyID       PartyID       `json:"party_id"`
	RequirementID RequirementID `json:"requirement_id"`
	Outcome       string        `json:"outcome"`
	Notes         string        `json:"notes"`
	NextReviewDue *string       `json:"next_review_due"`
	Changes       Changes       `json:"changes"`
}

func (RequirementReviewed) EventType() string { return EventRequirementReviewed }

// ReviewRequirement reviews a requirement (ISO 27001 practice: requirements
// of interested parties are reviewed periodically). NextReviewDue is
// required unless the outcome is retired. Like review_due it may be any
// date: a review recorded late may set a date already past, and the
// requirement then shows as overdue.
// With outcome changed, Revision holds the revised fields (its Meta,
// PartyID and RequirementID are ignored; the review date is set through
// NextReviewDue, not Revision.ReviewDue). Reason is required when the
// outcome is changed or retired.
type ReviewRequirement struct {
	Meta
	PartyID       PartyID
	RequirementID RequirementID
	Outcome       string
	Notes         string
	NextReviewDue string
	Revision      *ReviseRequirement
}

// ReviewRequirement decides ReviewRequirement.
func (p *Party) ReviewRequirement(cmd ReviewRequirement, now time.Time) ([]Event, error) {
	r, err := p.activeRequirement(cmd.PartyID, cmd.RequirementID)
	if err != nil {
		return nil, err
	}
	var v validation
	cmd.Meta.validate(&v, cmd.Outcome == OutcomeChanged || cmd.Outcome == OutcomeRetired)
	checkEnum(&v, "outcome", cmd.Outcome, ReviewOutcomes)
	checkText(&v, "notes", cmd.Notes, MaxTextLen)
	if cmd.Outcome == OutcomeRetired {
		if cmd.NextReviewDue != "" {
			v.add("next_review_due", "must be empty when the requirement is retired")
		}
	} else {
		checkRequiredDate(&v, "next_review_due", cmd.NextReviewDue)
	}
	switch {
	case cmd.Outcome == OutcomeChanged && cmd.Revision == nil:
		v.add("outcome", "is changed: send the revised fields with the review")
	case cmd.Outcome != OutcomeChanged && cmd.Revision != nil:
		v.add("outcome", "must be changed when the review revises fields")
	case cmd.Revision != nil && cmd.Revision.ReviewDue != nil:
		v.add("review_due", "is set by the review: send next_review_due")
	}
	if err := v.err(); err != nil {
		return nil, err
	}

	var events []Event
	switch cmd.Outcome {
	case OutcomeChanged:
		rev := *cmd.Revision
		rev.Meta, rev.PartyID, rev.RequirementID = cmd.Meta, cmd.PartyID, cmd.RequirementID
		evs, err := p.ReviseRequirement(rev, now)
		if err != nil {
			return nil, err
		}
		if len(evs) == 0 {
			return nil, &Error{Code: EINVALID, Message: "invalid input",
				Fields: []FieldError{{Field: "outcome", Message: "is changed, but the revised fields are the requirement's current values"}}}
		}
		events = append(events, evs...)
	case OutcomeRetired:
		evs, err := p.RetireRequirement(RetireRequirement{Meta: cmd.Meta, PartyID: cmd.PartyID, RequirementID: cmd.RequirementID}, now)
		if err != nil {
			return nil, err
		}
		events = append(events, evs...)
	}
	ch := Changes{}
	var next *string
	if cmd.NextReviewDue != "" {
		next = &cmd.NextReviewDue
		if cmd.NextReviewDue != strOrEmpty(r.ReviewDue) {
			ch["review_due"] = Change{strOrNil(r.ReviewDue), cmd.NextReviewDue}
		}
	}
	return append(events, RequirementReviewed{PartyID: p.ID, RequirementID: r.ID, Outcome: cmd.Outcome,
		Notes: cmd.Notes, NextReviewDue: clonePtr(next), Changes: ch}), nil
}

// applyReviewAndPlan folds the events of requirement reviews and of the
// communication plan that live in a party's stream.
func (p *Party) applyReviewAndPlan(e Event) {
	switch e := e.(type) {
	case RequirementReviewed:
		if r := p.Requirements[e.RequirementID]; r != nil {
			r.applyChanges(e.Changes)
		}
	case CommunicationPlanned:
		if p.Plan == nil {
			p.Plan = map[PlanEntryID]*PlanEntry{}
		}
		p.Plan[e.PlanEntryID] = &PlanEntry{ID: e.PlanEntryID, Topic: e.Topic, When: e.When,
			Frequency: e.Frequency, Channel: e.Channel, Communicator: e.Communicator, Priority: e.Priority}
	}
}
