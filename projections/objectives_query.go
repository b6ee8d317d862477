package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/partyledger/partyledger/domain"
)

// Objectives returns the objectives that pass f, in the order they were
// set, each with its KPIs and their latest values (no trend). It returns
// EINVALID for an unknown status.
func (m *ReadModel) Objectives(ctx context.Context, f ObjectiveFilter) ([]ObjectiveView, error) {
	conds, args := []string{"1"}, []any{}
	if f.Status != "" {
		if !containsString(domain.ObjectiveStatuses, f.Status) {
			return nil, &domain.Error{Code: domain.EINVALID, Message: "invalid objective filter",
				Fields: []domain.FieldError{{Field: "status", Message: "must be one of " + strings.Join(domain.ObjectiveStatuses, ", ")}}}
		}
		conds, args = append(conds, "status = ?"), append(args, f.Status)
	}
	if f.Owner != "" {
		conds, args = append(conds, "owner = ?"), append(args, f.Owner)
	}
	tx, err := m.snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("projections: objectives: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT `+objectiveCols+` FROM objectives WHERE `+
		strings.Join(conds, " AND ")+` ORDER BY position`, args...)
	if err != nil {
		return nil, fmt.Errorf("projections: objectives: %w", err)
	}
	var out []ObjectiveView
	for rows.Next() {
		v, err := scanObjective(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("projections: objectives: %w", err)
		}
		out = append(out, v)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, fmt.Errorf("projections: objectives: %w", err)
	}
	for i := range out {
		if err := fillObjective(ctx, tx, &out[i], 0); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// snapshot begins a transaction for reading: the queries of an objective,
// its KPIs and their measurements then see one state of the read model,
// never half a batch. Roll it back when done.
func (m *ReadModel) snapshot(ctx context.Context) (*sql.Tx, error) {
	return m.db.BeginTx(ctx, nil)
}

// Objective returns one objective with its KPIs, each with its latest value
// and the trend of its last trend effective values (0: no trend). It
// returns ENOTFOUND for an unknown objective.
func (m *ReadModel) Objective(ctx context.Context, id string, trend int) (ObjectiveView, error) {
	tx, err := m.snapshot(ctx)
	if err != nil {
		return ObjectiveView{}, fmt.Errorf("projections: objective %s: %w", id, err)
	}
	defer tx.Rollback()
	v, err := scanObjective(tx.QueryRowContext(ctx, `SELECT `+objectiveCols+` FROM objectives WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return ObjectiveView{}, notFound("no objective %s", id)
	}
	if err != nil {
		return ObjectiveView{}, fmt.Errorf("projections: objective %s: %w", id, err)
	}
	if err := fillObjective(ctx, tx, &v, trend); err != nil {
		return ObjectiveView{}, err
	}
	return v, nil
}

// KPI returns one KPI of an objective with its latest value and the trend
// of its last trend effective values. It returns ENOTFOUND for an unknown
// objective or KPI.
func (m *ReadModel) KPI(ctx context.Context, objectiveID, kpiID string, trend int) (KPIView, error) {
	tx, err := m.snapshot(ctx)
	if err != nil {
		return KPIView{}, fmt.Errorf("projections: KPI %s: %w", kpiID, err)
	}
	defer tx.Rollback()
	ks, err := kpis(ctx, tx, objectiveID, kpiID, trend)
	if err != nil {
		return KPIView{}, err
	}
	if len(ks) == 0 {
		return KPIView{}, notFound("objective %s has no KPI %s", objectiveID, kpiID)
	}
	return ks[0], nil
}

// Measurement returns one measurement as recorded (a corrected one too),
// judged against its KPI's current target. It returns ENOTFOUND for an
// unknown id.
func (m *ReadModel) Measurement(ctx context.Context, id string) (MeasurementView, error) {
	var k KPIView
	err := m.db.QueryRowContext(ctx, `SELECT k.id, k.operator, k.target FROM kpi_measurements x
		JOIN kpis k ON k.id = x.kpi_id WHERE x.id = ?`, id).Scan(&k.ID, &k.Operator, &k.Target)
	if errors.Is(err, sql.ErrNoRows) {
		return MeasurementView{}, notFound("no measurement %s", id)
	}
	if err != nil {
		return MeasurementView{}, fmt.Errorf("projections: measurement %s: %w", id, err)
	}
	v, err := scanMeasurement(m.db.QueryRowContext(ctx, `SELECT `+measurementCols+` FROM kpi_measurements WHERE id = ?`, id), &k)
	if err != nil {
		return MeasurementView{}, fmt.Errorf("projections: measurement %s: %w", id, err)
	}
	return v, nil
}

// RequirementStatus returns the status of a requirement in the register
// (active or retired), or "" when there is none: what the objective
// decisions need to link requirements.
func (m *ReadModel) RequirementStatus(ctx context.Context, id string) (string, error) {
	var status string
	err := m.db.QueryRowContext(ctx, `SELECT status FROM requirements WHERE id = ?`, id).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("projections: requirement %s: %w", id, err)
	}
	return status, nil
}

// OpenGaps returns the open gaps: active requirements of active parties
// that have no control and no objective (other than abandoned ones)
// addressing them, in register order (party name, then identification).
func (m *ReadModel) OpenGaps(ctx context.Context) ([]GapView, error) {
	rows, err := m.db.QueryContext(ctx, `SELECT p.id, p.name, p.scope, p.category, r.id, r.title,
			r.kind, r.owner, r.priority, r.addressed
		FROM requirements r JOIN parties p ON p.id = r.party_id
		WHERE r.status = 'active' AND p.status = 'active' AND r.controls = '[]'
			AND NOT EXISTS (SELECT 1 FROM objective_requirements l JOIN objectives o ON o.id = l.objective_id
				WHERE l.requirement_id = r.id AND o.status != ?)
		ORDER BY p.name_key, p.id, r.seq`, domain.ObjectiveStatusAbandoned)
	if err != nil {
		return nil, fmt.Errorf("projections: open gaps: %w", err)
	}
	defer rows.Close()
	out := []GapView{}
	for rows.Next() {
		var g GapView
		if err := rows.Scan(&g.Party.ID, &g.Party.Name, &g.Party.Scope, &g.Party.Category,
			&g.Requirement.ID, &g.Requirement.Title, &g.Requirement.Kind, &g.Owner, &g.Priority,
			&g.Addressed); err != nil {
			return nil, fmt.Errorf("projections: open gaps: %w", err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projections: open gaps: %w", err)
	}
	return out, nil
}
