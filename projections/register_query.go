package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/partyledger/partyledger/domain"
)

// Values of [PartyFilter].Status besides the party statuses.
const StatusAll = "all"

// PartyFilter selects parties. Empty fields do not filter, except Status,
// which defaults to active.
type PartyFilter struct {
	Category string // one of domain.Categories
	Scope    string // internal | external
	Status   string // active (default when "") | retired | all
}

// where returns the SQL condition (on alias p) and its arguments, or an
// EINVALID *domain.Error naming every bad field.
func (f PartyFilter) where() (string, []any, error) {
	var conds []string
	var args []any
	var bad []domain.FieldError
	switch f.Status {
	case "", domain.StatusActive:
		conds, args = append(conds, "p.status = ?"), append(args, domain.StatusActive)
	case domain.StatusRetired:
		conds, args = append(conds, "p.status = ?"), append(args, domain.StatusRetired)
	case StatusAll:
	default:
		bad = append(bad, domain.FieldError{Field: "status", Message: "must be one of active, retired, all"})
	}
	if f.Category != "" {
		if !slices.Contains(domain.Categories, f.Category) {
			bad = append(bad, domain.FieldError{Field: "category",
				Message: "must be one of " + strings.Join(domain.Categories, ", ")})
		}
		conds, args = append(conds, "p.category = ?"), append(args, f.Category)
	}
	if f.Scope != "" {
		if !slices.Contains(domain.Scopes, f.Scope) {
			bad = append(bad, domain.FieldError{Field: "scope",
				Message: "must be one of " + strings.Join(domain.Scopes, ", ")})
		}
		conds, args = append(conds, "p.scope = ?"), append(args, f.Scope)
	}
	if len(bad) > 0 {
		return "", nil, &domain.Error{Code: domain.EINVALID, Message: "invalid party filter", Fields: bad}
	}
	if len(conds) == 0 {
		return "1", nil, nil
	}
	return strings.Join(conds, " AND "), args, nil
}

// Column lists with the table aliases the queries use.
var (
	pCols = prefixCols("p.", partyCols)
	rCols = prefixCols("r.", reqCols)
)

func prefixCols(prefix, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = prefix + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// partyQuery is [ReadModel.Party]'s statement, prepared once in [Open]:
// database/sql then keeps it prepared on each pooled connection, so the
// hottest read skips SQLite's parse and plan. The id is bound through
// CAST(? AS TEXT): with a bare "p.id = ?" beside the ORDER BY, SQLite marks
// the statement to be re-prepared whenever a new value is bound, i.e. on
// every call, which cost more than the read itself (issue 17).
var partyQuery = `SELECT ` + pCols + `, ` + rCols + `
		FROM parties p LEFT JOIN requirements r ON r.party_id = p.id
		WHERE p.id = CAST(? AS TEXT) ORDER BY r.seq`

// Party returns one party with all its requirements, active and retired, in
// the order they were identified. Version is the party stream's version, the
// value of an ETag. It returns ENOTFOUND for an unknown party. The read is
// not interrupted when ctx is cancelled (see pointReadContext).
func (m *ReadModel) Party(ctx context.Context, id string) (PartyView, error) {
	// One statement, so the party and its requirements come from one snapshot.
	rows, err := m.partyStmt.QueryContext(pointReadContext(ctx), id)
	if err != nil {
		return PartyView{}, fmt.Errorf("projections: party %s: %w", id, err)
	}
	parties, err := scanPartiesWithRequirements(rows)
	if err != nil {
		return PartyView{}, fmt.Errorf("projections: party %s: %w", id, err)
	}
	if len(parties) == 0 {
		return PartyView{}, notFound("no party %s", id)
	}
	return parties[0], nil
}

// Parties returns the parties that match f, without their requirements,
// ordered by name (case-insensitive). It returns EINVALID for a bad filter.
func (m *ReadModel) Parties(ctx context.Context, f PartyFilter) ([]PartyView, error) {
	var out []PartyView
	_, err := m.EachParty(ctx, f, Page{}, func(v PartyView) error {
		out = append(out, v)
		return nil
	})
	return out, err
}

// Register returns the register: the parties that match f, each with its
// active requirements in identification order, ordered by scope (internal
// first) and then by name (case-insensitive). It returns EINVALID for a bad
// filter. [ReadModel.EachRegisterParty] reads it a page at a time.
func (m *ReadModel) Register(ctx context.Context, f PartyFilter) ([]PartyView, error) {
	var out []PartyView
	_, err := m.EachRegisterParty(ctx, f, Page{}, func(v PartyView) error {
		out = append(out, v)
		return nil
	})
	return out, err
}

// scanPartiesWithRequirements reads rows of pCols, rCols (requirement
// columns NULL for a party without one), ordered so that a party's rows are
// adjacent, and closes rows.
func scanPartiesWithRequirements(rows *sql.Rows) ([]PartyView, error) {
	defer rows.Close()
	var out []PartyView
	for rows.Next() {
		var r nullRequirement
		v, err := scanParty(rows, r.dest()...)
		if err != nil {
			return nil, err
		}
		if n := len(out); n == 0 || out[n-1].ID != v.ID {
			out = append(out, v)
		}
		if r.id.Valid {
			rv, err := r.view()
			if err != nil {
				return nil, err
			}
			p := &out[len(out)-1]
			p.Requirements = append(p.Requirements, rv)
		}
	}
	return out, rows.Err()
}

// nullRequirement receives the rCols of a LEFT JOIN, which may all be NULL.
type nullRequirement struct {
	id, partyID, kind, title, description, sourceType, sourceRef, owner, priority sql.NullString
	reviewDue                                                                     *string
	addressed                                                                     *bool
	rationale, treatment, controls, status, created, updated                      sql.NullString
}

func (r *nullRequirement) dest() []any {
	return []any{&r.id, &r.partyID, &r.kind, &r.title, &r.description, &r.sourceType,
		&r.sourceRef, &r.owner, &r.priority, &r.reviewDue, &r.addressed, &r.rationale,
		&r.treatment, &r.controls, &r.status, &r.created, &r.updated}
}

func (r *nullRequirement) view() (RequirementView, error) {
	v := RequirementView{ID: r.id.String, PartyID: r.partyID.String, Kind: r.kind.String,
		Title: r.title.String, Description: r.description.String, SourceType: r.sourceType.String,
		SourceRef: r.sourceRef.String, Owner: r.owner.String, Priority: r.priority.String,
		ReviewDue: r.reviewDue, Addressed: r.addressed, Rationale: r.rationale.String,
		Treatment: r.treatment.String, Status: r.status.String}
	if err := json.Unmarshal([]byte(r.controls.String), &v.Controls); err != nil {
		return v, fmt.Errorf("bad stored controls of %s: %w", v.ID, err)
	}
	var err error
	if v.CreatedAt, err = parseTime(r.created.String); err != nil {
		return v, err
	}
	if v.UpdatedAt, err = parseTime(r.updated.String); err != nil {
		return v, err
	}
	return v, nil
}

// ActivePartyByName returns the id of the active party called name, compared
// after [domain.NormalizeName] (trimmed, case-insensitive). ok is false when
// there is none.
func (m *ReadModel) ActivePartyByName(ctx context.Context, name string) (id string, ok bool, err error) {
	err = m.db.QueryRowContext(ctx, `SELECT id FROM parties
		WHERE status = ? AND name_key = ? ORDER BY created_at, id LIMIT 1`,
		domain.StatusActive, domain.NormalizeName(name)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("projections: party by name: %w", err)
	}
	return id, true, nil
}

// PartyParent returns the party's parent id ("" if it has none) and its
// status (active or retired; "" if the party is unknown, which is not an
// error).
func (m *ReadModel) PartyParent(ctx context.Context, id string) (parent string, status string, err error) {
	var p sql.NullString
	err = m.db.QueryRowContext(ctx, `SELECT parent_id, status FROM parties WHERE id = ?`, id).Scan(&p, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("projections: parent of %s: %w", id, err)
	}
	return p.String, status, nil
}
