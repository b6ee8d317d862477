package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// objectives projects the objective-<id> streams into the objectives,
// objective_requirements, kpis and kpi_measurements tables. It writes each
// event straight to the transaction of its batch: objectives change rarely,
// so there is nothing to gain from caching.
type objectives struct {
	tx *sql.Tx
}

func newObjectives() *objectives { return &objectives{} }

func (o *objectives) name() string { return "objectives" }
func (o *objectives) tables() []string {
	return []string{"objectives", "objective_requirements", "kpis", "kpi_measurements"}
}
func (o *objectives) setCacheLimit(int)                           {}
func (o *objectives) flush(context.Context) error                 { return nil }
func (o *objectives) end(bool)                                    { o.tx = nil }
func (o *objectives) begin(ctx context.Context, tx *sql.Tx) error { o.tx = tx; return nil }

func (o *objectives) apply(ctx context.Context, ev *eventstore.Event, de domain.Event) error {
	at := formatTime(ev.Time)
	var oid domain.ObjectiveID
	switch e := de.(type) {
	case domain.ObjectiveSet:
		oid = e.ObjectiveID
		res, err := o.tx.ExecContext(ctx, `INSERT INTO objectives (id, position, version, title,
				description, owner, due, status, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			string(e.ObjectiveID), ev.Position, ev.Version, e.Title, e.Description, e.Owner, e.Due,
			e.Status, at, at)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // set twice: the first one stands
		}
		if err := o.link(ctx, string(oid), idStrings(e.RequirementIDs)); err != nil {
			return err
		}
	case domain.ObjectiveRevised:
		oid = e.ObjectiveID
		cols := map[string]string{"title": "title", "description": "description", "owner": "owner",
			"due": "due", "status": "status"}
		for _, f := range e.Changes.Fields(domain.ObjectiveFields) {
			to := e.Changes[f].To
			if col, ok := cols[f]; ok {
				s, _ := to.(string)
				if _, err := o.tx.ExecContext(ctx, `UPDATE objectives SET `+col+` = ? WHERE id = ?`, s, string(oid)); err != nil {
					return err
				}
			}
			if f == "requirement_ids" {
				if _, err := o.tx.ExecContext(ctx, `DELETE FROM objective_requirements WHERE objective_id = ?`, string(oid)); err != nil {
					return err
				}
				if err := o.link(ctx, string(oid), domain.StringsValue(to)); err != nil {
					return err
				}
			}
		}
	case domain.KPIDefined:
		oid = e.ObjectiveID
		if _, err := o.tx.ExecContext(ctx, `INSERT INTO kpis (id, objective_id, position, name, unit,
				operator, target, frequency, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			string(e.KPIID), string(oid), ev.Position, e.Name, e.Unit, e.Operator, e.Target, e.Frequency, at, at); err != nil {
			return err
		}
	case domain.KPIRevised:
		oid = e.ObjectiveID
		cols := map[string]string{"name": "name", "unit": "unit", "operator": "operator",
			"target": "target", "frequency": "frequency"}
		for _, f := range e.Changes.Fields(domain.KPIFields) {
			col, ok := cols[f]
			if !ok {
				continue
			}
			var v any = e.Changes[f].To
			if f == "target" {
				v = domain.FloatValue(v)
			} else {
				v, _ = v.(string)
			}
			if _, err := o.tx.ExecContext(ctx, `UPDATE kpis SET `+col+` = ?, updated_at = ? WHERE id = ?`,
				v, at, string(e.KPIID)); err != nil {
				return err
			}
		}
	case domain.KPIMeasured:
		oid = e.ObjectiveID
		slot := string(e.MeasurementID)
		var corrects *string
		if e.Corrects != nil {
			c := string(*e.Corrects)
			corrects = &c
			err := o.tx.QueryRowContext(ctx, `SELECT slot FROM kpi_measurements WHERE id = ?`, c).Scan(&slot)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if _, err := o.tx.ExecContext(ctx, `UPDATE kpi_measurements SET superseded = 1
				WHERE slot = ? AND position < ?`, slot, ev.Position); err != nil {
				return err
			}
		}
		if _, err := o.tx.ExecContext(ctx, `INSERT INTO kpi_measurements (id, kpi_id, objective_id,
				position, slot, value, measured_at, corrects, superseded, recorded_at, recorded_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?) ON CONFLICT (id) DO NOTHING`,
			string(e.MeasurementID), string(e.KPIID), string(oid), ev.Position, slot, e.Value,
			e.MeasuredAt, corrects, at, ev.Actor); err != nil {
			return err
		}
	default:
		return nil
	}
	_, err := o.tx.ExecContext(ctx, `UPDATE objectives SET version = ?, updated_at = ? WHERE id = ?`,
		ev.Version, at, string(oid))
	return err
}

// link records the objective's requirements in order.
func (o *objectives) link(ctx context.Context, objectiveID string, ids []string) error {
	for i, rid := range ids {
		if _, err := o.tx.ExecContext(ctx, `INSERT INTO objective_requirements (objective_id, requirement_id, seq)
			VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, objectiveID, rid, i); err != nil {
			return err
		}
	}
	return nil
}

func idStrings(ids []domain.RequirementID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = string(id)
	}
	return out
}

// Trend lengths of [ReadModel.Objective].
const (
	DefaultTrend = 12
	MaxTrend     = 100
)

// ObjectiveFilter selects objectives. Empty fields do not filter.
type ObjectiveFilter struct {
	Status string // one of domain.ObjectiveStatuses
	Owner  string // exact, as stored
}

const objectiveCols = `id, version, title, description, owner, due, status, created_at, updated_at`

func scanObjective(s scanner) (ObjectiveView, error) {
	var v ObjectiveView
	var created, updated string
	if err := s.Scan(&v.ID, &v.Version, &v.Title, &v.Description, &v.Owner, &v.Due, &v.Status,
		&created, &updated); err != nil {
		return v, err
	}
	var err error
	if v.CreatedAt, err = parseTime(created); err != nil {
		return v, err
	}
	v.UpdatedAt, err = parseTime(updated)
	return v, err
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// fillObjective reads the objective's requirements and KPIs.
func fillObjective(ctx context.Context, q querier, v *ObjectiveView, trend int) error {
	rows, err := q.QueryContext(ctx, `SELECT requirement_id FROM objective_requirements
		WHERE objective_id = ? ORDER BY seq`, v.ID)
	if err != nil {
		return fmt.Errorf("projections: objective %s: %w", v.ID, err)
	}
	v.RequirementIDs = []string{}
	for rows.Next() {
		var rid string
		if err := rows.Scan(&rid); err != nil {
			rows.Close()
			return fmt.Errorf("projections: objective %s: %w", v.ID, err)
		}
		v.RequirementIDs = append(v.RequirementIDs, rid)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return fmt.Errorf("projections: objective %s: %w", v.ID, err)
	}
	if v.KPIs, err = kpis(ctx, q, v.ID, "", trend); err != nil {
		return err
	}
	v.KPIsBelowTarget = 0
	for _, k := range v.KPIs {
		if k.MeetsTarget != nil && !*k.MeetsTarget {
			v.KPIsBelowTarget++
		}
	}
	return nil
}

const kpiCols = `id, objective_id, name, unit, operator, target, frequency, created_at, updated_at`

// kpis reads the KPIs of an objective (or the one KPI kpiID), in the order
// they were defined, with latest values and trends.
func kpis(ctx context.Context, q querier, objectiveID, kpiID string, trend int) ([]KPIView, error) {
	sel, args := `SELECT `+kpiCols+` FROM kpis WHERE objective_id = ?`, []any{objectiveID}
	if kpiID != "" {
		sel, args = sel+` AND id = ?`, append(args, kpiID)
	}
	rows, err := q.QueryContext(ctx, sel+` ORDER BY position`, args...)
	if err != nil {
		return nil, fmt.Errorf("projections: KPIs of %s: %w", objectiveID, err)
	}
	out := []KPIView{}
	for rows.Next() {
		var k KPIView
		var created, updated string
		if err := rows.Scan(&k.ID, &k.ObjectiveID, &k.Name, &k.Unit, &k.Operator, &k.Target, &k.Frequency,
			&created, &updated); err != nil {
			rows.Close()
			return nil, fmt.Errorf("projections: KPIs of %s: %w", objectiveID, err)
		}
		if k.CreatedAt, err = parseTime(created); err == nil {
			k.UpdatedAt, err = parseTime(updated)
		}
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("projections: KPIs of %s: %w", objectiveID, err)
		}
		out = append(out, k)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, fmt.Errorf("projections: KPIs of %s: %w", objectiveID, err)
	}
	for i := range out {
		k := &out[i]
		n := max(trend, 1)
		ms, err := effective(ctx, q, k, n)
		if err != nil {
			return nil, err
		}
		if len(ms) > 0 {
			latest := ms[len(ms)-1]
			k.Latest = &latest
			meets := latest.MeetsTarget
			k.MeetsTarget = &meets
		}
		if trend > 0 {
			k.Trend = ms
		}
	}
	return out, nil
}

const measurementCols = `id, kpi_id, value, measured_at, corrects, recorded_at, recorded_by`

func scanMeasurement(s scanner, k *KPIView) (MeasurementView, error) {
	var v MeasurementView
	var recorded string
	if err := s.Scan(&v.ID, &v.KPIID, &v.Value, &v.MeasuredAt, &v.Corrects, &recorded, &v.RecordedBy); err != nil {
		return v, err
	}
	var err error
	v.RecordedAt, err = parseTime(recorded)
	v.MeetsTarget = domain.Meets(v.Value, k.Operator, k.Target)
	return v, err
}

// effective returns the last n effective measurements of k (the latest
// correction of each original), oldest first by measured_at; ties go by
// the order they were recorded.
func effective(ctx context.Context, q querier, k *KPIView, n int) ([]MeasurementView, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+measurementCols+` FROM kpi_measurements
		WHERE kpi_id = ? AND superseded = 0 ORDER BY measured_at DESC, position DESC LIMIT ?`, k.ID, n)
	if err != nil {
		return nil, fmt.Errorf("projections: measurements of %s: %w", k.ID, err)
	}
	defer rows.Close()
	var out []MeasurementView
	for rows.Next() {
		v, err := scanMeasurement(rows, k)
		if err != nil {
			return nil, fmt.Errorf("projections: measurements of %s: %w", k.ID, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projections: measurements of %s: %w", k.ID, err)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}
