package projections

import (
	"context"
	"database/sql"
	"encoding/json"
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
	return []string{"reviews", "review_actions", "settings", "review_history", "settings_history"}
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
		if err := r.held(ctx, ev, e); err != nil {
			return err
		}
		return r.remember(ctx, ev, string(e.ReviewID), nil)
	case domain.ManagementReviewCorrected:
		if err := r.corrected(ctx, ev, e); err != nil {
			return err
		}
		return r.remember(ctx, ev, string(e.ReviewID), e.Changes)
	case domain.ManagementReviewVoided:
		if _, err := r.tx.ExecContext(ctx, `UPDATE reviews SET status = ?, version = version + 1, updated_at = ?
			WHERE id = ?`, domain.ReviewVoided, formatTime(ev.Time), string(e.ReviewID)); err != nil {
			return err
		}
		return r.remember(ctx, ev, string(e.ReviewID), e.Changes)
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

// remember copies the review as the event at ev left it into
// review_history, with the event's type, time, actor, reason and changes
// ([ReadModel.ReviewAsOf] and [ReadModel.ReviewRecordChanges] read it).
// Applying the event again copies nothing new.
func (r *reviews) remember(ctx context.Context, ev *eventstore.Event, id string, ch domain.Changes) error {
	if ch == nil {
		ch = domain.Changes{}
	}
	changes, err := json.Marshal(ch)
	if err != nil {
		return err
	}
	_, err = r.tx.ExecContext(ctx, `INSERT INTO review_history (id, position, version, held_on, title, attendees,
		notes, considered_from, considered_to, decisions, status, updated_at, event_type, event_time, actor, reason,
		changes)
		SELECT id, ?, version, held_on, title, attendees, notes, considered_from, considered_to, decisions, status,
		updated_at, ?, ?, ?, ?, ? FROM reviews WHERE id = ? ON CONFLICT (id, position) DO NOTHING`,
		ev.Position, ev.Type, formatTime(ev.Time), ev.Actor, ev.Reason, string(changes), id)
	return err
}

// addActions inserts the actions a correction added, after the review's
// others; they were raised at the correction's position.
func (r *reviews) addActions(ctx context.Context, ev *eventstore.Event, e domain.ManagementReviewCorrected) error {
	for _, a := range e.ActionsAdded {
		if _, err := r.tx.ExecContext(ctx, `INSERT INTO review_actions (id, review_id, seq, position, title,
			owner, due_on, status, evidence, closed_at, closed_by, reason)
			VALUES (?, ?, (SELECT COALESCE(MAX(seq), -1) + 1 FROM review_actions WHERE review_id = ?), ?, ?, ?, ?, ?,
			'', NULL, '', '') ON CONFLICT (id) DO NOTHING`,
			string(a.ActionID), string(e.ReviewID), string(e.ReviewID), ev.Position, a.Title, a.Owner, a.DueOn,
			domain.ActionOpen); err != nil {
			return err
		}
	}
	return nil
}

func (r *reviews) corrected(ctx context.Context, ev *eventstore.Event, e domain.ManagementReviewCorrected) error {
	if err := r.addActions(ctx, ev, e); err != nil {
		return err
	}
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

const actionCols = `a.id, a.review_id, r.title, r.held_on, a.title, a.owner, a.due_on, a.status, a.evidence,
	a.closed_at, a.closed_pos, a.closed_by, a.reason`

// AsOf returns the action as it stood after position: an action closed
// later is open again, and overdue is judged against today. (An action
// raised after position, by a later correction, did not exist then:
// [ReadModel.ReviewAsOf] leaves it out.)
func (a ActionView) AsOf(position int64, today string) ActionView {
	if a.ClosedAtPos != nil && *a.ClosedAtPos > position {
		a.Status, a.Evidence, a.ClosedAt, a.ClosedAtPos, a.ClosedBy, a.Reason = domain.ActionOpen, "", nil, nil, "", ""
	}
	a.Overdue = a.Status == domain.ActionOpen && today != "" && a.DueOn < today
	return a
}
