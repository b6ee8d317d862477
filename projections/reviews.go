package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// reviews projects management_review.held events into the reviews table.
type reviews struct {
	ins *sql.Stmt
}

func newReviews() *reviews { return &reviews{} }

func (r *reviews) name() string      { return "reviews" }
func (r *reviews) tables() []string  { return []string{"reviews"} }
func (r *reviews) setCacheLimit(int) {}
func (r *reviews) flush(context.Context) error {
	return nil // apply writes directly: one row per event, nothing to merge
}
func (r *reviews) end(bool) { r.ins = nil }

func (r *reviews) begin(ctx context.Context, tx *sql.Tx) error {
	var err error
	// A review is recorded once; a second event for the same id (which the
	// domain never emits) does not move it.
	r.ins, err = tx.PrepareContext(ctx, `INSERT INTO reviews
		(id, position, held_on, title, attendees, notes, recorded_at, recorded_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`)
	return err
}

func (r *reviews) apply(ctx context.Context, ev *eventstore.Event, de domain.Event) error {
	e, ok := de.(domain.ManagementReviewHeld)
	if !ok {
		return nil
	}
	attendees, err := json.Marshal(e.Attendees)
	if err != nil {
		return err
	}
	_, err = r.ins.ExecContext(ctx, string(e.ReviewID), ev.Position, e.HeldOn, e.Title,
		string(attendees), e.Notes, formatTime(ev.Time), ev.Actor)
	return err
}

const reviewCols = `id, held_on, title, attendees, notes, position, recorded_at, recorded_by`

func scanReview(s scanner) (ReviewView, error) {
	var v ReviewView
	var attendees, recorded string
	if err := s.Scan(&v.ID, &v.HeldOn, &v.Title, &attendees, &v.Notes, &v.Position, &recorded,
		&v.RecordedBy); err != nil {
		return v, err
	}
	if err := json.Unmarshal([]byte(attendees), &v.Attendees); err != nil {
		return v, fmt.Errorf("bad stored attendees of review %s: %w", v.ID, err)
	}
	var err error
	v.RecordedAt, err = parseTime(recorded)
	return v, err
}

// Reviews returns every recorded management review, ordered by position.
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
	return v, nil
}

// LastReview returns the most recently recorded management review (the one
// with the greatest position); ok is false when none has been recorded.
// "Changes since the last management review" are the feed items after its
// Position.
func (m *ReadModel) LastReview(ctx context.Context) (ReviewView, bool, error) {
	v, err := scanReview(m.db.QueryRowContext(ctx,
		`SELECT `+reviewCols+` FROM reviews ORDER BY position DESC LIMIT 1`))
	if errors.Is(err, sql.ErrNoRows) {
		return ReviewView{}, false, nil
	}
	if err != nil {
		return ReviewView{}, false, fmt.Errorf("projections: last review: %w", err)
	}
	return v, true, nil
}
