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

// feedObjectives is the part of the feed projection for objectives, KPIs,
// requirement reviews and communications. It keeps the objective titles and
// KPI targets the feed shows in change_objectives and change_kpis, written
// straight to the batch's transaction.
type feedObjectives struct {
	heldStmts
	selObj, upObj, selKPI, upKPI *sql.Stmt
}

func (o *feedObjectives) begin(ctx context.Context, tx *sql.Tx) error {
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var s *sql.Stmt
		s, err = o.prepare(ctx, tx, q)
		return s
	}
	o.selObj = prep(`SELECT title FROM change_objectives WHERE id = ?`)
	o.upObj = prep(`INSERT INTO change_objectives (id, title) VALUES (?, ?)
		ON CONFLICT (id) DO UPDATE SET title = excluded.title`)
	o.selKPI = prep(`SELECT name, unit, operator, target FROM change_kpis WHERE id = ?`)
	o.upKPI = prep(`INSERT INTO change_kpis (id, objective_id, name, unit, operator, target)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name,
			unit = excluded.unit, operator = excluded.operator, target = excluded.target`)
	return err
}

func (o *feedObjectives) end() { o.selObj, o.upObj, o.selKPI, o.upKPI = nil, nil, nil, nil }

// objective returns the objective as the feed names it; one it has never
// seen is named by id alone.
func (o *feedObjectives) objective(ctx context.Context, id string) (ObjectiveRef, error) {
	ref := ObjectiveRef{ID: id}
	err := o.selObj.QueryRowContext(ctx, id).Scan(&ref.Title)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return ref, fmt.Errorf("load objective names %s: %w", id, err)
	}
	return ref, nil
}

func (o *feedObjectives) kpi(ctx context.Context, id string) (KPIRef, bool, error) {
	ref := KPIRef{ID: id}
	err := o.selKPI.QueryRowContext(ctx, id).Scan(&ref.Name, &ref.Unit, &ref.Operator, &ref.Target)
	if errors.Is(err, sql.ErrNoRows) {
		return ref, false, nil
	}
	if err != nil {
		return ref, false, fmt.Errorf("load KPI %s: %w", id, err)
	}
	return ref, true, nil
}

// moreItem builds the feed items of the events of clauses 6.2 and 7.4: item
// arrives with the envelope's fields set. ok is false for events that are
// not feed items (measurements that meet their target, other types).
func (f *feed) moreItem(ctx context.Context, ev *eventstore.Event, de domain.Event, item ChangeItem) (ChangeItem, bool, error) {
	o := &f.obj
	switch e := de.(type) {
	case domain.RequirementReviewed:
		ps, rs, err := f.requirement(ctx, string(e.PartyID), string(e.RequirementID))
		if err != nil {
			return item, false, err
		}
		ch := domain.Changes{"outcome": {To: e.Outcome}}
		if e.Notes != "" {
			ch["notes"] = domain.Change{To: e.Notes}
		}
		if c, ok := e.Changes["review_due"]; ok {
			ch["review_due"] = c
		}
		item.Change, item.Changes = ChangeRequirementReviewed, fieldChanges(domain.RequirementReviewFields, ch)
		ref := rs.ref
		item.Party, item.Requirement = ps.ref, &ref
	case domain.CommunicationPlanned:
		ps, err := f.party(ctx, string(e.PartyID))
		if err != nil {
			return item, false, err
		}
		ch := domain.Changes{"plan_entry_id": {To: string(e.PlanEntryID)}, "topic": {To: e.Topic},
			"when": {To: e.When}, "channel": {To: e.Channel}, "communicator": {To: e.Communicator},
			"priority": {To: e.Priority}}
		if e.Frequency != "" {
			ch["frequency"] = domain.Change{To: e.Frequency}
		}
		item.Change, item.Changes = ChangeCommunicationPlanned, fieldChanges(domain.CommunicationPlanFields, ch)
		item.Party = ps.ref
	case domain.CommunicationSent:
		ps, err := f.party(ctx, string(e.PartyID))
		if err != nil {
			return item, false, err
		}
		ch := domain.Changes{"channel": {To: e.Channel}, "sent_by": {To: e.SentBy},
			"summary": {To: e.Summary}, "sent_at": {To: e.SentAt}}
		if e.PlanEntryID != nil {
			ch["plan_entry_id"] = domain.Change{To: string(*e.PlanEntryID)}
		}
		if e.EvidenceRef != "" {
			ch["evidence_ref"] = domain.Change{To: e.EvidenceRef}
		}
		item.Change, item.Changes = ChangeCommunicationSent, fieldChanges(domain.CommunicationSentFields, ch)
		item.Party = ps.ref
	case domain.ObjectiveSet:
		ref := ObjectiveRef{ID: string(e.ObjectiveID), Title: e.Title}
		if _, err := o.upObj.ExecContext(ctx, ref.ID, ref.Title); err != nil {
			return item, false, fmt.Errorf("write objective names %s: %w", ref.ID, err)
		}
		item.Change = ChangeObjectiveAdded
		item.Changes = fieldChanges(domain.ObjectiveFields, domain.Changes{"title": {To: e.Title},
			"description": {To: e.Description}, "owner": {To: e.Owner}, "due": {To: e.Due},
			"status": {To: e.Status}, "requirement_ids": {To: idStrings(e.RequirementIDs)}})
		item.Objective = &ref
	case domain.ObjectiveRevised:
		ref, err := o.objective(ctx, string(e.ObjectiveID))
		if err != nil {
			return item, false, err
		}
		if c, ok := e.Changes["title"]; ok {
			ref.Title, _ = c.To.(string)
			if _, err := o.upObj.ExecContext(ctx, ref.ID, ref.Title); err != nil {
				return item, false, fmt.Errorf("write objective names %s: %w", ref.ID, err)
			}
		}
		item.Change, item.Changes = ChangeObjectiveRevised, fieldChanges(domain.ObjectiveFields, e.Changes)
		item.Objective = &ref
	case domain.KPIDefined:
		ref, err := o.objective(ctx, string(e.ObjectiveID))
		if err != nil {
			return item, false, err
		}
		k := KPIRef{ID: string(e.KPIID), Name: e.Name, Unit: e.Unit, Operator: e.Operator, Target: e.Target}
		if err := o.writeKPI(ctx, ref.ID, k); err != nil {
			return item, false, err
		}
		item.Change = ChangeKPIDefined
		item.Changes = fieldChanges(domain.KPIFields, domain.Changes{"name": {To: e.Name}, "unit": {To: e.Unit},
			"operator": {To: e.Operator}, "target": {To: e.Target}, "frequency": {To: e.Frequency}})
		ref.KPI = &k
		item.Objective = &ref
	case domain.KPIRevised:
		ref, err := o.objective(ctx, string(e.ObjectiveID))
		if err != nil {
			return item, false, err
		}
		k, _, err := o.kpi(ctx, string(e.KPIID))
		if err != nil {
			return item, false, err
		}
		for field, c := range e.Changes {
			switch field {
			case "name":
				k.Name, _ = c.To.(string)
			case "unit":
				k.Unit, _ = c.To.(string)
			case "operator":
				k.Operator, _ = c.To.(string)
			case "target":
				k.Target = domain.FloatValue(c.To)
			}
		}
		if err := o.writeKPI(ctx, ref.ID, k); err != nil {
			return item, false, err
		}
		item.Change, item.Changes = ChangeKPIRevised, fieldChanges(domain.KPIFields, e.Changes)
		ref.KPI = &k
		item.Objective = &ref
	case domain.KPIMeasured:
		k, known, err := o.kpi(ctx, string(e.KPIID))
		if err != nil || !known || domain.Meets(e.Value, k.Operator, k.Target) {
			return item, false, err
		}
		ref, err := o.objective(ctx, string(e.ObjectiveID))
		if err != nil {
			return item, false, err
		}
		ch := domain.Changes{"value": {To: e.Value}, "measured_at": {To: e.MeasuredAt}}
		if e.Corrects != nil {
			ch["corrects"] = domain.Change{To: string(*e.Corrects)}
		}
		item.Change, item.Changes = ChangeKPIBelowTarget, fieldChanges(measurementFields, ch)
		ref.KPI = &k
		item.Objective = &ref
	default:
		// Management reviews bound the windows; they are not items.
		return f.relationshipItem(ctx, de, item)
	}
	return item, true, nil
}

// measurementFields is the display order of a below-target item's fields.
var measurementFields = []string{"value", "measured_at", "corrects"}

func (o *feedObjectives) writeKPI(ctx context.Context, objectiveID string, k KPIRef) error {
	if _, err := o.upKPI.ExecContext(ctx, k.ID, objectiveID, k.Name, k.Unit, k.Operator, k.Target); err != nil {
		return fmt.Errorf("write KPI %s: %w", k.ID, err)
	}
	return nil
}

// objectiveJSON is the changes.objective column of an item: NULL for items
// about parties.
func objectiveJSON(ref *ObjectiveRef) (any, error) {
	if ref == nil {
		return nil, nil
	}
	b, err := json.Marshal(ref)
	if err != nil {
		return nil, fmt.Errorf("encode objective: %w", err)
	}
	return string(b), nil
}

// decodeObjective reads the changes.objective column.
func decodeObjective(s sql.NullString) (*ObjectiveRef, error) {
	if !s.Valid {
		return nil, nil
	}
	var ref ObjectiveRef
	if err := json.Unmarshal([]byte(s.String), &ref); err != nil {
		return nil, err
	}
	return &ref, nil
}
