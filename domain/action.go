package domain

import (
	"strings"
	"time"
)

// ActionID identifies an action decided at a management review (a UUID).
type ActionID string

// ActionStreamPrefix starts the stream of every review action: each action
// is its own small aggregate, so that completing one never conflicts with
// correcting its review or with another action.
const ActionStreamPrefix = "action-"

// Stream returns the name of the action's event stream.
func (id ActionID) Stream() string { return ActionStreamPrefix + string(id) }

// Action statuses. Overdue is not a status but a reading: an open action
// whose due date has passed.
const (
	ActionOpen      = "open"
	ActionDone      = "done"
	ActionCancelled = "cancelled"
)

// MaxEvidenceLen bounds the evidence of a completed action.
const MaxEvidenceLen = 2000

// ReviewActionItem is one action (9.3.3) as a review records it.
type ReviewActionItem struct {
	ActionID ActionID `json:"action_id"`
	Title    string   `json:"title"`
	Owner    string   `json:"owner"`
	DueOn    string   `json:"due_on"`
}

// ReviewAction is the state of one action: raised by its review's
// management_review.held event, then completed or cancelled by events in its
// own stream.
type ReviewAction struct {
	ReviewAction ReviewActionItem
	ReviewID     ReviewID
	Version      int64 // of the action's own stream
	Status       string
	Evidence     string
}

// NewReviewAction returns the state of an action of a review before any
// event of its own stream; ok is false when the review has no such action.
func NewReviewAction(r *ManagementReview, id ActionID) (*ReviewAction, bool) {
	if !r.Exists() {
		return nil, false
	}
	a, ok := r.Action(id)
	if !ok {
		return nil, false
	}
	return &ReviewAction{ReviewAction: a, ReviewID: r.ID, Status: ActionOpen}, true
}

// Apply folds one event of the action's stream.
func (a *ReviewAction) Apply(e Event) {
	a.Version++
	switch e := e.(type) {
	case ReviewActionCompleted:
		a.Status, a.Evidence = ActionDone, e.Evidence
	case ReviewActionCancelled:
		a.Status = ActionCancelled
	}
}

// CompleteAction records that an action was done, with evidence (text or
// a link). The reason is optional.
type CompleteAction struct {
	Meta
	ReviewID ReviewID
	ActionID ActionID
	Evidence string
}

// CancelAction records that an action will not be done. The reason is
// required.
type CancelAction struct {
	Meta
	ReviewID ReviewID
	ActionID ActionID
}

// Complete decides CompleteAction. Only an open action of a review that is
// not void can be completed (ECONFLICT otherwise).
func (a *ReviewAction) Complete(cmd CompleteAction, reviewStatus string, now time.Time) ([]Event, error) {
	if err := a.open(reviewStatus); err != nil {
		return nil, err
	}
	var v validation
	cmd.Meta.validate(&v, false)
	ev := strings.TrimSpace(cmd.Evidence)
	if ev == "" {
		v.add("evidence", "is required: what shows the action was done (text or a link)")
	}
	checkText(&v, "evidence", ev, MaxEvidenceLen)
	if err := v.err(); err != nil {
		return nil, err
	}
	return []Event{ReviewActionCompleted{ActionID: a.ReviewAction.ActionID, ReviewID: a.ReviewID, Evidence: ev,
		Changes: Changes{"status": {From: ActionOpen, To: ActionDone}}}}, nil
}

// Cancel decides CancelAction.
func (a *ReviewAction) Cancel(cmd CancelAction, reviewStatus string, now time.Time) ([]Event, error) {
	if err := a.open(reviewStatus); err != nil {
		return nil, err
	}
	var v validation
	cmd.Meta.validate(&v, true)
	if err := v.err(); err != nil {
		return nil, err
	}
	return []Event{ReviewActionCancelled{ActionID: a.ReviewAction.ActionID, ReviewID: a.ReviewID,
		Changes: Changes{"status": {From: ActionOpen, To: ActionCancelled}}}}, nil
}

func (a *ReviewAction) open(reviewStatus string) error {
	if reviewStatus == ReviewVoided {
		return Errorf(ECONFLICT, "management review %s is void", a.ReviewID)
	}
	if a.Status != ActionOpen {
		return Errorf(ECONFLICT, "action %s is already %s", a.ReviewAction.ActionID, a.Status)
	}
	return nil
}
