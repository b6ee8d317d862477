package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/partyledger/partyledger/domain"
)

// RelationshipView is one relationship between two parties, with the
// parties' names for display.
type RelationshipView struct {
	ID            string `json:"id"`
	Version       int64  `json:"version"` // stream version, the ETag
	FromPartyID   string `json:"from_party_id"`
	FromPartyName string `json:"from_party_name"`
	ToPartyID     string `json:"to_party_id"`
	ToPartyName   string `json:"to_party_name"`
	Kind          string `json:"kind"`
	Label         string `json:"label"`
	Description   string `json:"description"`
	Status        string `json:"status"` // active | ended
	// OnMap is false for an active relationship one of whose parties is
	// retired: it has dropped off the current map, its history stays.
	OnMap         bool      `json:"on_map"`
	EstablishedAt time.Time `json:"established_at"`
	EstablishedBy string    `json:"established_by"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// RelationshipFilter narrows [ReadModel.Relationships]. Empty fields match
// everything; Status is active (the default), ended or all.
type RelationshipFilter struct {
	PartyID string // either end
	Kind    string
	Status  string
}

const relationshipCols = `r.id, r.version, r.from_party_id, COALESCE(f.name, ''), r.to_party_id,
	COALESCE(t.name, ''), r.kind, r.label, r.description, r.status,
	(r.status = 'active' AND f.status = 'active' AND t.status = 'active'),
	r.established_at, r.established_by, r.updated_at`

const relationshipFrom = ` FROM relationships r LEFT JOIN parties f ON f.id = r.from_party_id
	LEFT JOIN parties t ON t.id = r.to_party_id`

func scanRelationship(s scanner) (RelationshipView, error) {
	var v RelationshipView
	var est, upd string
	if err := s.Scan(&v.ID, &v.Version, &v.FromPartyID, &v.FromPartyName, &v.ToPartyID, &v.ToPartyName,
		&v.Kind, &v.Label, &v.Description, &v.Status, &v.OnMap, &est, &v.EstablishedBy, &upd); err != nil {
		return v, err
	}
	var err error
	if v.EstablishedAt, err = parseTime(est); err != nil {
		return v, err
	}
	v.UpdatedAt, err = parseTime(upd)
	return v, err
}

// Relationship returns one relationship, or ENOTFOUND.
func (m *ReadModel) Relationship(ctx context.Context, id string) (RelationshipView, error) {
	v, err := scanRelationship(m.db.QueryRowContext(ctx, `SELECT `+relationshipCols+relationshipFrom+
		` WHERE r.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return RelationshipView{}, notFound("no relationship %s", id)
	}
	if err != nil {
		return RelationshipView{}, fmt.Errorf("projections: relationship %s: %w", id, err)
	}
	return v, nil
}

// Relationships returns the relationships that pass f, in the order they
// were established. Status "active" returns the relationships on the
// current map: active, with both parties active.
func (m *ReadModel) Relationships(ctx context.Context, f RelationshipFilter) ([]RelationshipView, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	if f.PartyID != "" && f.Kind == "" && (f.Status == "" || f.Status == "active") {
		// A party's answer (GET /parties/{id}, every write): one prepared
		// statement on the point-read pool.
		rows, err := m.relsStmt.QueryContext(pointReadContext(ctx), f.PartyID)
		if err != nil {
			return nil, fmt.Errorf("projections: relationships: %w", err)
		}
		return scanRelationships(rows)
	}
	q, args, err := relationshipsQuery(f)
	if err != nil {
		return nil, err
	}
	rows, err := m.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("projections: relationships: %w", err)
	}
	return scanRelationships(rows)
}

// relationshipsQuery is the statement of [ReadModel.Relationships] for f
// (other than the one-party point read). SQLite serves a party's OR over
// the two columns from two indexes (relationships_from_all and
// relationships_to, migration 0015); with only the partial index of active
// relationships on the from side, a read of ended or all relationships
// walked the whole table.
func relationshipsQuery(f RelationshipFilter) (string, []any, error) {
	conds, args := []string{"1"}, []any{}
	switch f.Status {
	case "", "active":
		conds = append(conds, "r.status = 'active' AND f.status = 'active' AND t.status = 'active'")
	case "ended":
		conds = append(conds, "r.status = 'ended'")
	case "all":
	default:
		return "", nil, &domain.Error{Code: domain.EINVALID, Message: "invalid filter",
			Fields: []domain.FieldError{{Field: "status", Message: "must be one of active, ended, all"}}}
	}
	if f.PartyID != "" {
		conds, args = append(conds, "(r.from_party_id = ? OR r.to_party_id = ?)"), append(args, f.PartyID, f.PartyID)
	}
	if f.Kind != "" {
		if !slices.Contains(domain.RelationshipKinds, f.Kind) {
			return "", nil, &domain.Error{Code: domain.EINVALID, Message: "invalid filter",
				Fields: []domain.FieldError{{Field: "kind", Message: "must be one of " + strings.Join(domain.RelationshipKinds, ", ")}}}
		}
		conds, args = append(conds, "r.kind = ?"), append(args, f.Kind)
	}
	return `SELECT ` + relationshipCols + relationshipFrom + ` WHERE ` +
		strings.Join(conds, " AND ") + ` ORDER BY r.position`, args, nil
}

// partyRelationshipsQuery is the active relationships of one party, in
// either direction (the filter {PartyID} of [ReadModel.Relationships]). It
// finds the party's relationships through the two relationship indexes
// (relationships_from, relationships_to) first and joins the parties after (CROSS JOIN fixes that order; the status
// conditions make the joins inner ones anyway): written as an OR over
// LEFT JOINs, SQLite's planner walked every active party and probed the
// relationships of each, a cost that grew with the register (issue 17).
const partyRelationshipsQuery = `SELECT ` + relationshipCols + ` FROM relationships r
	CROSS JOIN parties f ON f.id = r.from_party_id CROSS JOIN parties t ON t.id = r.to_party_id
	WHERE r.rowid IN (
		SELECT rowid FROM relationships WHERE from_party_id = ?1 AND status = 'active'
		UNION ALL
		SELECT rowid FROM relationships WHERE to_party_id = ?1 AND from_party_id <> ?1)
	AND r.status = 'active' AND f.status = 'active' AND t.status = 'active'
	ORDER BY r.position`

// scanRelationships reads relationship rows and closes them.
func scanRelationships(rows *sql.Rows) ([]RelationshipView, error) {
	return collectRows(rows, "relationships", scanRelationship)
}

// collectRows reads every row with scan and closes rows; errors name what.
// The result is never nil, so that an empty list encodes as [].
func collectRows[T any](rows *sql.Rows, what string, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("projections: %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projections: %s: %w", what, err)
	}
	return out, nil
}

// ActiveRelationship returns the id of the active relationship from → to
// of kind, if there is one (whatever the parties' status: the rule is on
// relationships, and a retired party cannot gain new ones anyway).
func (m *ReadModel) ActiveRelationship(ctx context.Context, from, to, kind string) (id string, ok bool, err error) {
	err = m.db.QueryRowContext(ctx, `SELECT id FROM relationships
		WHERE from_party_id = ? AND to_party_id = ? AND kind = ? AND status = 'active' ORDER BY position LIMIT 1`,
		from, to, kind).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("projections: active relationship: %w", err)
	}
	return id, true, nil
}

// Changes of a relationship since a position, as [ReadModel.RelationshipsSince]
// reports them.
const (
	RelationshipAdded   = "added"
	RelationshipChanged = "changed"
	RelationshipEnded   = "ended"
)

// RelationshipSince is a relationship with what happened to it after a
// position ("" when nothing did).
type RelationshipSince struct {
	RelationshipView
	Change string `json:"change"`
}

// RelationshipsSince returns the current map's relationships (active, both
// parties active), each marked added (established after position) or
// changed (revised after it), followed by the relationships ended after
// position that existed at it, marked ended: the picture of what changed
// since a management review. A relationship established and ended after
// position is left out.
func (m *ReadModel) RelationshipsSince(ctx context.Context, position int64) ([]RelationshipSince, error) {
	rows, err := m.db.QueryContext(ctx, `SELECT `+relationshipCols+`,
			CASE WHEN r.status = 'ended' THEN 'ended'
			     WHEN r.position > ? THEN 'added'
			     WHEN COALESCE(r.revised_at_position, 0) > ? THEN 'changed'
			     ELSE '' END`+relationshipFrom+`
		WHERE (r.status = 'active' AND f.status = 'active' AND t.status = 'active')
		   OR (r.status = 'ended' AND r.ended_at_position > ? AND r.position <= ?)
		ORDER BY r.status, r.position`, position, position, position, position)
	if err != nil {
		return nil, fmt.Errorf("projections: relationships since %d: %w", position, err)
	}
	defer rows.Close()
	out := []RelationshipSince{}
	for rows.Next() {
		var v RelationshipSince
		var est, upd string
		if err := rows.Scan(&v.ID, &v.Version, &v.FromPartyID, &v.FromPartyName, &v.ToPartyID, &v.ToPartyName,
			&v.Kind, &v.Label, &v.Description, &v.Status, &v.OnMap, &est, &v.EstablishedBy, &upd, &v.Change); err != nil {
			return nil, fmt.Errorf("projections: relationships since %d: %w", position, err)
		}
		if v.EstablishedAt, err = parseTime(est); err != nil {
			return nil, err
		}
		if v.UpdatedAt, err = parseTime(upd); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projections: relationships since %d: %w", position, err)
	}
	return out, nil
}
