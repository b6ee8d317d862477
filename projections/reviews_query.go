package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/partyledger/partyledger/domain"
)

// withActions fills the actions of each review, in their order.
func (m *ReadModel) withActions(ctx context.Context, rs []ReviewView) error {
	for i := range rs {
		as, err := m.queryActions(ctx, `a.review_id = ? ORDER BY a.seq`, "", rs[i].ID)
		if err != nil {
			return err
		}
		rs[i].Actions = as
	}
	return nil
}

// Reviews returns every recorded management review, voided ones included,
// ordered by position.
func (m *ReadModel) Reviews(ctx context.Context) ([]ReviewView, error) {
	rows, err := m.db.QueryContext(ctx, `SELECT `+reviewCols+` FROM reviews ORDER BY position`)
	if err != nil {
		return nil, fmt.Errorf("projections: reviews: %w", err)
	}
	defer rows.Close()
	var out []ReviewView
	for rows.Next() {
		v, err := scanReview(rows)
		if err != nil {
			return nil, fmt.Errorf("projections: reviews: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projections: reviews: %w", err)
	}
	rows.Close()
	if err := m.withActions(ctx, out); err != nil {
		return nil, fmt.Errorf("projections: reviews: %w", err)
	}
	return out, nil
}

// Review returns one management review, or ENOTFOUND.
func (m *ReadModel) Review(ctx context.Context, id string) (ReviewView, error) {
	v, err := scanReview(m.db.QueryRowContext(ctx, `SELECT `+reviewCols+` FROM reviews WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return ReviewView{}, notFound("no management review %s", id)
	}
	if err != nil {
		return ReviewView{}, fmt.Errorf("projections: review %s: %w", id, err)
	}
	rs := []ReviewView{v}
	if err := m.withActions(ctx, rs); err != nil {
		return ReviewView{}, fmt.Errorf("projections: review %s: %w", id, err)
	}
	return rs[0], nil
}

// LastReview returns the last management review: the one with the latest
// held_on, ties broken by recording order (position), voided reviews left
// out. ok is false when there is none. "Changes since the last management
// review" are the feed items after its ConsideredTo. A review entered late
// (held before one recorded earlier) therefore never becomes the last one.
func (m *ReadModel) LastReview(ctx context.Context) (ReviewView, bool, error) {
	v, err := scanReview(m.db.QueryRowContext(ctx, `SELECT `+reviewCols+` FROM reviews
		WHERE status = ? ORDER BY held_on DESC, position DESC LIMIT 1`, domain.ReviewRecorded))
	if errors.Is(err, sql.ErrNoRows) {
		return ReviewView{}, false, nil
	}
	if err != nil {
		return ReviewView{}, false, fmt.Errorf("projections: last review: %w", err)
	}
	rs := []ReviewView{v}
	if err := m.withActions(ctx, rs); err != nil {
		return ReviewView{}, false, fmt.Errorf("projections: last review: %w", err)
	}
	return rs[0], true, nil
}

// PreviousReview returns the review that was the last one before rv: the
// latest held_on before rv's (ties by position before rv's), voided ones
// left out; ok is false when there is none. The report shows its decisions
// and actions.
func (m *ReadModel) PreviousReview(ctx context.Context, rv ReviewView) (ReviewView, bool, error) {
	v, err := scanReview(m.db.QueryRowContext(ctx, `SELECT `+reviewCols+` FROM reviews
		WHERE status = ? AND (held_on < ? OR (held_on = ? AND position < ?))
		ORDER BY held_on DESC, position DESC LIMIT 1`, domain.ReviewRecorded, rv.HeldOn, rv.HeldOn, rv.Position))
	if errors.Is(err, sql.ErrNoRows) {
		return ReviewView{}, false, nil
	}
	if err != nil {
		return ReviewView{}, false, fmt.Errorf("projections: previous review: %w", err)
	}
	rs := []ReviewView{v}
	if err := m.withActions(ctx, rs); err != nil {
		return ReviewView{}, false, fmt.Errorf("projections: previous review: %w", err)
	}
	return rs[0], true, nil
}

// queryActions returns the actions matching where (with args), marking
// those open and due before today ("" marks none) as overdue.
func (m *ReadModel) queryActions(ctx context.Context, where, today string, args ...any) ([]ActionView, error) {
	rows, err := m.db.QueryContext(ctx, `SELECT `+actionCols+` FROM review_actions a
		JOIN reviews r ON r.id = a.review_id WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ActionView{}
	for rows.Next() {
		var a ActionView
		var closed sql.NullString
		var closedPos sql.NullInt64
		if err := rows.Scan(&a.ID, &a.ReviewID, &a.ReviewTitle, &a.ReviewHeldOn, &a.Title, &a.Owner, &a.DueOn,
			&a.Status, &a.Evidence, &closed, &closedPos, &a.ClosedBy, &a.Reason); err != nil {
			return nil, err
		}
		if closedPos.Valid {
			a.ClosedAtPos = &closedPos.Int64
		}
		if closed.Valid {
			t, err := parseTime(closed.String)
			if err != nil {
				return nil, err
			}
			a.ClosedAt = &t
		}
		a.Overdue = a.Status == domain.ActionOpen && today != "" && a.DueOn < today
		out = append(out, a)
	}
	return out, rows.Err()
}

// Actions returns the actions of the reviews that are not void, by due date:
// status "" all, open (overdue ones included), overdue (open and due
// before today), done (done or cancelled: closed). today is YYYY-MM-DD.
// An unknown status is EINVALID.
func (m *ReadModel) Actions(ctx context.Context, status, today string) ([]ActionView, error) {
	where := `r.status = 'recorded'`
	var args []any
	switch status {
	case "":
	case ActionsOpen:
		where += ` AND a.status = 'open'`
	case ActionsOverdue:
		where += ` AND a.status = 'open' AND a.due_on < ?`
		args = append(args, today)
	case ActionsDone:
		where += ` AND a.status IN ('done', 'cancelled')`
	default:
		return nil, &domain.Error{Code: domain.EINVALID, Message: "invalid query parameter",
			Fields: []domain.FieldError{{Field: "status", Message: "must be open, overdue or done"}}}
	}
	out, err := m.queryActions(ctx, where+` ORDER BY a.due_on, a.review_id, a.seq`, today, args...)
	if err != nil {
		return nil, fmt.Errorf("projections: actions: %w", err)
	}
	return out, nil
}

// Action returns one action of a review, or ENOTFOUND.
func (m *ReadModel) Action(ctx context.Context, reviewID, id, today string) (ActionView, error) {
	as, err := m.queryActions(ctx, `a.review_id = ? AND a.id = ?`, today, reviewID, id)
	if err != nil {
		return ActionView{}, fmt.Errorf("projections: action %s: %w", id, err)
	}
	if len(as) == 0 {
		return ActionView{}, notFound("no action %s in management review %s", id, reviewID)
	}
	return as[0], nil
}

// LatestReview answers the application layer's question before it records a
// review: the held_on and considered_to of the last review (see
// [ReadModel.LastReview]); ok is false when there is none.
func (m *ReadModel) LatestReview(ctx context.Context) (heldOn string, consideredTo int64, ok bool, err error) {
	err = m.db.QueryRowContext(ctx, `SELECT held_on, considered_to FROM reviews WHERE status = ?
		ORDER BY held_on DESC, position DESC LIMIT 1`, domain.ReviewRecorded).Scan(&heldOn, &consideredTo)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, false, nil
	}
	if err != nil {
		return "", 0, false, fmt.Errorf("projections: latest review: %w", err)
	}
	return heldOn, consideredTo, true, nil
}

// ReviewAsOf returns review id as it stood after position: the corrections
// and the void recorded later are not applied, the actions a later
// correction added are left out, and the actions completed or cancelled
// later (removed by a later correction too) are open. A review recorded
// after position is returned as it was recorded. A report of a closed
// window reads the reviews that bound it this way, so that a correction
// made after the window's end never changes the report of that window: it
// shows in the reports of the windows that contain it. It returns
// ENOTFOUND for an unknown review.
func (m *ReadModel) ReviewAsOf(ctx context.Context, id string, position int64) (ReviewView, error) {
	cur, err := m.Review(ctx, id)
	if err != nil {
		return ReviewView{}, err
	}
	at := max(position, cur.Position)
	var attendees, decisions, updated string
	var from sql.NullInt64
	v := cur
	err = m.db.QueryRowContext(ctx, `SELECT version, held_on, title, attendees, notes, considered_from,
		considered_to, decisions, status, updated_at FROM review_history WHERE id = ? AND position <= ?
		ORDER BY position DESC LIMIT 1`, id, at).Scan(&v.Version, &v.HeldOn, &v.Title, &attendees, &v.Notes,
		&from, &v.ConsideredTo, &decisions, &v.Status, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		// Not remembered (cannot happen once the projection has applied the
		// review's events): the review as it stands.
		return cur, nil
	}
	if err != nil {
		return ReviewView{}, fmt.Errorf("projections: review %s as of %d: %w", id, position, err)
	}
	if err := json.Unmarshal([]byte(attendees), &v.Attendees); err != nil {
		return ReviewView{}, fmt.Errorf("projections: review %s as of %d: attendees: %w", id, position, err)
	}
	if err := json.Unmarshal([]byte(decisions), &v.Decisions); err != nil {
		return ReviewView{}, fmt.Errorf("projections: review %s as of %d: decisions: %w", id, position, err)
	}
	v.ConsideredFrom = nil
	if from.Valid {
		v.ConsideredFrom = &from.Int64
	}
	if v.UpdatedAt, err = parseTime(updated); err != nil {
		return ReviewView{}, fmt.Errorf("projections: review %s as of %d: %w", id, position, err)
	}
	as, err := m.queryActions(ctx, `a.review_id = ? AND a.position <= ? ORDER BY a.seq`, "", id, at)
	if err != nil {
		return ReviewView{}, fmt.Errorf("projections: review %s as of %d: %w", id, position, err)
	}
	for i := range as {
		as[i] = as[i].AsOf(at, "")
		as[i].ReviewTitle, as[i].ReviewHeldOn = v.Title, v.HeldOn
	}
	v.Actions = as
	return v, nil
}

// ReviewRecordChange is a correction or a void of a management review's
// record, as the report of the window that contains it lists it.
type ReviewRecordChange struct {
	ReviewID string         `json:"review_id"`
	Title    string         `json:"title"`   // the review's title after the event
	HeldOn   string         `json:"held_on"` // its held_on after the event
	Type     string         `json:"type"`    // management_review.corrected or .voided
	Position int64          `json:"position"`
	Time     time.Time      `json:"time"`
	Actor    string         `json:"actor"`
	Reason   string         `json:"reason"`
	Changes  domain.Changes `json:"changes"`
}

// ReviewRecordChanges returns the corrections and voids of management
// reviews recorded with a position in (after, until], in log order: a
// correction made after a window's end is not in that window's report
// (see [ReadModel.ReviewAsOf]) but in the report of the window that
// contains it.
func (m *ReadModel) ReviewRecordChanges(ctx context.Context, after, until int64) ([]ReviewRecordChange, error) {
	rows, err := m.db.QueryContext(ctx, `SELECT id, title, held_on, event_type, position, event_time, actor, reason,
		changes FROM review_history WHERE position > ? AND position <= ? AND event_type <> ?
		ORDER BY position`, after, until, domain.EventManagementReviewHeld)
	if err != nil {
		return nil, fmt.Errorf("projections: review record changes: %w", err)
	}
	defer rows.Close()
	var out []ReviewRecordChange
	for rows.Next() {
		var c ReviewRecordChange
		var at, changes string
		if err := rows.Scan(&c.ReviewID, &c.Title, &c.HeldOn, &c.Type, &c.Position, &at, &c.Actor, &c.Reason,
			&changes); err != nil {
			return nil, fmt.Errorf("projections: review record changes: %w", err)
		}
		if c.Time, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("projections: review record changes: %w", err)
		}
		if err := json.Unmarshal([]byte(changes), &c.Changes); err != nil {
			return nil, fmt.Errorf("projections: review record changes: changes at %d: %w", c.Position, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projections: review record changes: %w", err)
	}
	return out, nil
}
