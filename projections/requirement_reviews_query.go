package projections

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/partyledger/partyledger/domain"
)

// RequirementReviews returns the reviews of one requirement of a party,
// oldest first (none for a requirement never reviewed; ENOTFOUND for an
// unknown party or requirement).
func (m *ReadModel) RequirementReviews(ctx context.Context, partyID, requirementID string) ([]RequirementReviewView, error) {
	var n int
	if err := m.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM requirements WHERE id = ? AND party_id = ?`,
		requirementID, partyID).Scan(&n); err != nil {
		return nil, fmt.Errorf("projections: reviews of %s: %w", requirementID, err)
	}
	if n == 0 {
		return nil, notFound("party %s has no requirement %s", partyID, requirementID)
	}
	rows, err := m.db.QueryContext(ctx, `SELECT `+requirementReviewCols+` FROM requirement_reviews
		WHERE requirement_id = ? AND party_id = ? ORDER BY position`, requirementID, partyID)
	if err != nil {
		return nil, fmt.Errorf("projections: reviews of %s: %w", requirementID, err)
	}
	defer rows.Close()
	out := []RequirementReviewView{}
	for rows.Next() {
		v, err := scanRequirementReview(rows)
		if err != nil {
			return nil, fmt.Errorf("projections: reviews of %s: %w", requirementID, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projections: reviews of %s: %w", requirementID, err)
	}
	return out, nil
}

// ReviewsDue returns the active requirements of active parties whose review
// date is on or before until (YYYY-MM-DD), grouped by owner (owners in
// name order, "" last; reviews by date). A review dated before today is
// overdue; the others are due soon. Each carries its last recorded review,
// if any. It returns EINVALID for a malformed date.
func (m *ReadModel) ReviewsDue(ctx context.Context, today, until string) ([]OwnerReviews, error) {
	var bad []domain.FieldError
	if _, err := time.Parse(domain.DateLayout, today); err != nil {
		bad = append(bad, domain.FieldError{Field: "date", Message: "must be a date YYYY-MM-DD"})
	}
	if _, err := time.Parse(domain.DateLayout, until); err != nil {
		bad = append(bad, domain.FieldError{Field: "within", Message: "must end on a date YYYY-MM-DD"})
	}
	if len(bad) > 0 {
		return nil, &domain.Error{Code: domain.EINVALID, Message: "invalid query", Fields: bad}
	}
	rows, err := m.db.QueryContext(ctx, `SELECT p.id, p.name, p.scope, p.category, r.id, r.title, r.kind,
			r.owner, r.review_due,
			x.position, x.event_id, x.party_id, x.requirement_id, x.outcome, x.notes, x.next_review_due,
			x.reason, x.review_trigger, x.reviewed_at, x.reviewed_by
		FROM requirements r JOIN parties p ON p.id = r.party_id
		LEFT JOIN requirement_reviews x ON x.position = (SELECT MAX(position) FROM requirement_reviews y
			WHERE y.requirement_id = r.id)
		WHERE r.status = 'active' AND p.status = 'active' AND r.review_due IS NOT NULL
			AND r.review_due != '' AND r.review_due <= ?
		ORDER BY r.owner, r.review_due, p.name_key, r.seq`, until)
	if err != nil {
		return nil, fmt.Errorf("projections: reviews due: %w", err)
	}
	defer rows.Close()
	var out []OwnerReviews
	for rows.Next() {
		var d DueReview
		var pos sql.NullInt64
		var eid, pid, rid, outcome, notes, reason, trigger, at, by sql.NullString
		var next *string
		if err := rows.Scan(&d.Party.ID, &d.Party.Name, &d.Party.Scope, &d.Party.Category,
			&d.Requirement.ID, &d.Requirement.Title, &d.Requirement.Kind, &d.Owner, &d.ReviewDue,
			&pos, &eid, &pid, &rid, &outcome, &notes, &next, &reason, &trigger, &at, &by); err != nil {
			return nil, fmt.Errorf("projections: reviews due: %w", err)
		}
		if pos.Valid {
			t, err := parseTime(at.String)
			if err != nil {
				return nil, fmt.Errorf("projections: reviews due: %w", err)
			}
			d.LastReviewed = &RequirementReviewView{Position: pos.Int64, EventID: eid.String, PartyID: pid.String,
				RequirementID: rid.String, Outcome: outcome.String, Notes: notes.String, NextReviewDue: next,
				Reason: reason.String, Trigger: trigger.String, ReviewedAt: t, ReviewedBy: by.String}
		}
		d.Overdue = d.ReviewDue < today
		if n := len(out); n == 0 || out[n-1].Owner != d.Owner {
			out = append(out, OwnerReviews{Owner: d.Owner})
		}
		g := &out[len(out)-1]
		g.Reviews = append(g.Reviews, d)
		if d.Overdue {
			g.Overdue++
		} else {
			g.DueSoon++
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projections: reviews due: %w", err)
	}
	// Requirements without an owner are nobody's: list them last.
	slices.SortStableFunc(out, func(a, b OwnerReviews) int {
		switch {
		case a.Owner == "" && b.Owner != "":
			return 1
		case a.Owner != "" && b.Owner == "":
			return -1
		}
		return strings.Compare(a.Owner, b.Owner)
	})
	if out == nil {
		out = []OwnerReviews{}
	}
	return out, nil
}
