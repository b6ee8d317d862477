package projections

import (
	"context"
	"database/sql"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// requirementReviews projects requirement.reviewed events into the
// requirement_reviews table: the history of periodic reviews. The review
// dates themselves are the register's (requirements.review_due), which the
// register folds from the same events.
type requirementReviews struct {
	heldStmts
	ins *sql.Stmt
}

func newRequirementReviews() *requirementReviews { return &requirementReviews{} }

func (r *requirementReviews) name() string                { return "requirement_reviews" }
func (r *requirementReviews) tables() []string            { return []string{"requirement_reviews"} }
func (r *requirementReviews) setCacheLimit(int)           {}
func (r *requirementReviews) flush(context.Context) error { return nil }
func (r *requirementReviews) end(bool)                    { r.ins = nil }

func (r *requirementReviews) begin(ctx context.Context, tx *sql.Tx) error {
	var err error
	r.ins, err = r.prepare(ctx, tx, `INSERT INTO requirement_reviews (position, event_id, party_id,
			requirement_id, outcome, notes, next_review_due, reviewed_at, reviewed_by, reason, review_trigger)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (position) DO NOTHING`)
	return err
}

func (r *requirementReviews) apply(ctx context.Context, ev *eventstore.Event, de domain.Event) error {
	e, ok := de.(domain.RequirementReviewed)
	if !ok {
		return nil
	}
	_, err := r.ins.ExecContext(ctx, ev.Position, ev.ID, string(e.PartyID), string(e.RequirementID),
		e.Outcome, e.Notes, e.NextReviewDue, formatTime(ev.Time), ev.Actor, ev.Reason, ev.Trigger)
	return err
}

const requirementReviewCols = `position, event_id, party_id, requirement_id, outcome, notes,
	next_review_due, reason, review_trigger, reviewed_at, reviewed_by`

func scanRequirementReview(s scanner) (RequirementReviewView, error) {
	var v RequirementReviewView
	var at string
	if err := s.Scan(&v.Position, &v.EventID, &v.PartyID, &v.RequirementID, &v.Outcome, &v.Notes,
		&v.NextReviewDue, &v.Reason, &v.Trigger, &at, &v.ReviewedBy); err != nil {
		return v, err
	}
	var err error
	v.ReviewedAt, err = parseTime(at)
	return v, err
}
