package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// ReviewWindowView is what a [ReviewView] says beyond the meeting itself:
// the window it considered, its 9.3.3 outputs and whether it still counts.
type ReviewWindowView struct {
	Version int64 `json:"version"` // of the review's stream: 1 + corrections + void
	// ConsideredFrom is nil for a review recorded before windows were; its
	// ConsideredTo is then the position of its management_review.held.
	ConsideredFrom *int64       `json:"considered_from"`
	ConsideredTo   int64        `json:"considered_to"`
	Decisions      []string     `json:"decisions"`
	Actions        []ActionView `json:"actions"`
	Status         string       `json:"status"` // recorded | voided
	Late           bool         `json:"late"`   // held before a review recorded earlier
	UpdatedAt      time.Time    `json:"updated_at"`
}

// ActionView is one action decided at a management review (9.3.3).
type ActionView struct {
	ID           string     `json:"id"`
	ReviewID     string     `json:"review_id"`
	ReviewTitle  string     `json:"review_title"`
	ReviewHeldOn string     `json:"review_held_on"`
	Title        string     `json:"title"`
	Owner        string     `json:"owner"`
	DueOn        string     `json:"due_on"`
	Status       string     `json:"status"`  // open | done | cancelled
	Overdue      bool       `json:"overdue"` // open and due before today
	Evidence     string     `json:"evidence"`
	ClosedAt     *time.Time `json:"closed_at"`
	ClosedAtPos  *int64     `json:"closed_position"`
	ClosedBy     string     `json:"closed_by"`
	Reason       string     `json:"reason"`
}

// Action list filters of [ReadModel.Actions].
const (
	ActionsOpen    = "open"
	ActionsOverdue = "overdue"
	ActionsDone    = "done"
)

// reviews projects the events of management reviews and their actions into
// the reviews and review_actions tables, and settings.changed into the
// settings table (settings.go).
type reviews struct {
	tx *sql.Tx
}

func newReviews() *reviews { return &reviews{} }

func (r *reviews) name() string { return "reviews" }
func (r *reviews) tables() []string {
	return []string{"reviews", "review_actions", "settings"}
}
func (r *reviews) setCacheLimit(int) {}
func (r *reviews) flush(context.Context) error {
	return nil // apply writes directly: a few rows per event, nothing to merge
}
func (r *reviews) end(bool) { r.tx = nil }

func (r *reviews) begin(_ context.Context, tx *sql.Tx) error {
	r.tx = tx
	return nil
}

func (r *reviews) apply(ctx context.Context, ev *eventstore.Event, de domain.Event) error {
	switch e := de.(type) {
	case domain.ManagementReviewHeld:
		return r.held(ctx, ev, e)
	case domain.ManagementReviewCorrected:
		return r.corrected(ctx, ev, e)
	case domain.ManagementReviewVoided:
		_, err := r.tx.ExecContext(ctx, `UPDATE reviews SET status = ?, version = version + 1, updated_at = ?
			WHERE id = ?`, domain.ReviewVoided, formatTime(ev.Time), string(e.ReviewID))
		return err
	case domain.ReviewActionCompleted:
		return r.closeAction(ctx, ev, string(e.ActionID), domain.ActionDone, e.Evidence)
	case domain.ReviewActionCancelled:
		return r.closeAction(ctx, ev, string(e.ActionID), domain.ActionCancelled, "")
	case domain.SettingsChanged:
		return applySettings(ctx, r.tx, ev, e)
	}
	return nil
}

func (r *reviews) held(ctx context.Context, ev *eventstore.Event, e domain.ManagementReviewHeld) error {
	attendees, err := json.Marshal(nonNilStrings(e.Attendees))
	if err != nil {
		return err
	}
	decisions, err := json.Marshal(nonNilStrings(e.Decisions))
	if err != nil {
		return err
	}
	to := ev.Position // a review recorded before windows considered everything before it
	if e.ConsideredTo != nil {
		to = *e.ConsideredTo
	}
	// A review is recorded once; a second event for the same id (which the
	// domain never emits) does not move it.
	res, err := r.tx.ExecContext(ctx, `INSERT INTO reviews (id, position, version, held_on, title, attendees,
		notes, considered_from, considered_to, decisions, status, late, recorded_at, recorded_by, updated_at)
		VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		string(e.ReviewID), ev.Position, e.HeldOn, e.Title, string(attendees), e.Notes, nullPos(e.ConsideredFrom),
		to, string(decisions), domain.ReviewRecorded, e.Late, formatTime(ev.Time), ev.Actor, formatTime(ev.Time))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	for i, a := range e.Actions {
		if _, err := r.tx.ExecContext(ctx, `INSERT INTO review_actions (id, review_id, seq, position, title,
			owner, due_on, status, evidence, closed_at, closed_by, reason)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', NULL, '', '') ON CONFLICT (id) DO NOTHING`,
			string(a.ActionID), string(e.ReviewID), i, ev.Position, a.Title, a.Owner, a.DueOn, domain.ActionOpen); err != nil {
			return err
		}
	}
	return nil
}

func (r *reviews) corrected(ctx context.Context, ev *eventstore.Event, e domain.ManagementReviewCorrected) error {
	sets := map[string]string{"held_on": "held_on", "title": "title", "notes": "notes",
		"attendees": "attendees", "decisions": "decisions", "considered_from": "considered_from",
		"considered_to": "considered_to"}
	for _, f := range e.Changes.Fields(domain.ReviewFields) {
		col, ok := sets[f]
		if !ok {
			continue
		}
		var v any
		switch to := e.Changes[f].To; f {
		case "attendees", "decisions":
			b, err := json.Marshal(nonNilStrings(anyStringList(to)))
			if err != nil {
				return err
			}
			v = string(b)
		case "considered_from", "considered_to":
			n, ok := to.(float64)
			if !ok {
				return fmt.Errorf("review %s: %s is not a position", e.ReviewID, f)
			}
			v = int64(n)
		default:
			v = to
		}
		if _, err := r.tx.ExecContext(ctx, `UPDATE reviews SET `+col+` = ? WHERE id = ?`, v, string(e.ReviewID)); err != nil {
			return err
		}
	}
	_, err := r.tx.ExecContext(ctx, `UPDATE reviews SET version = version + 1, updated_at = ? WHERE id = ?`,
		formatTime(ev.Time), string(e.ReviewID))
	return err
}

func (r *reviews) closeAction(ctx context.Context, ev *eventstore.Event, id, status, evidence string) error {
	_, err := r.tx.ExecContext(ctx, `UPDATE review_actions SET status = ?, evidence = ?, closed_at = ?,
		closed_pos = ?, closed_by = ?, reason = ? WHERE id = ?`, status, evidence, formatTime(ev.Time), ev.Position,
		ev.Actor, ev.Reason, id)
	return err
}

func nullPos(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// anyStringList reads a JSON-decoded list of strings.
func anyStringList(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, s := range l {
		if s, ok := s.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

const reviewCols = `id, held_on, title, attendees, notes, position, recorded_at, recorded_by,
	version, considered_from, considered_to, decisions, status, late, updated_at`

func scanReview(s scanner) (ReviewView, error) {
	var v ReviewView
	var attendees, decisions, recorded, updated string
	var from sql.NullInt64
	if err := s.Scan(&v.ID, &v.HeldOn, &v.Title, &attendees, &v.Notes, &v.Position, &recorded,
		&v.RecordedBy, &v.Version, &from, &v.ConsideredTo, &decisions, &v.Status, &v.Late, &updated); err != nil {
		return v, err
	}
	if err := json.Unmarshal([]byte(attendees), &v.Attendees); err != nil {
		return v, fmt.Errorf("bad stored attendees of review %s: %w", v.ID, err)
	}
	if err := json.Unmarshal([]byte(decisions), &v.Decisions); err != nil {
		return v, fmt.Errorf("bad stored decisions of review %s: %w", v.ID, err)
	}
	if from.Valid {
		v.ConsideredFrom = &from.Int64
	}
	v.Actions = []ActionView{}
	var err error
	if v.RecordedAt, err = parseTime(recorded); err != nil {
		return v, err
	}
	v.UpdatedAt, err = parseTime(updated)
	return v, err
}

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

const actionCols = `a.id, a.review_id, r.title, r.held_on, a.title, a.owner, a.due_on, a.status, a.evidence,
	a.closed_at, a.closed_pos, a.closed_by, a.reason`

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

// AsOf returns the action as it stood after position: an action closed
// later is open again, and overdue is judged against today.
func (a ActionView) AsOf(position int64, today string) ActionView {
	if a.ClosedAtPos != nil && *a.ClosedAtPos > position {
		a.Status, a.Evidence, a.ClosedAt, a.ClosedAtPos, a.ClosedBy, a.Reason = domain.ActionOpen, "", nil, nil, "", ""
	}
	a.Overdue = a.Status == domain.ActionOpen && today != "" && a.DueOn < today
	return a
}
