package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// CommunicationPlan returns a party's communication plan in the order the
// entries were planned, each with its last communication and, for entries
// with a frequency, the date it is next due and whether that is before
// today (YYYY-MM-DD). It returns ENOTFOUND for an unknown party and
// EINVALID for a malformed date.
func (m *ReadModel) CommunicationPlan(ctx context.Context, partyID, today string) ([]PlanEntryView, error) {
	if err := checkToday(today); err != nil {
		return nil, err
	}
	var n int
	if err := m.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM parties WHERE id = ?`, partyID).Scan(&n); err != nil {
		return nil, fmt.Errorf("projections: communication plan of %s: %w", partyID, err)
	}
	if n == 0 {
		return nil, notFound("no party %s", partyID)
	}
	return m.planEntries(ctx, `e.party_id = ?`, []any{partyID}, today)
}

// OverdueCommunications returns the plan entries, of active parties (of
// one party when partyID is not empty), whose next communication was due
// before today (YYYY-MM-DD), most overdue first. Entries triggered by
// events are never overdue. It returns EINVALID for a malformed date.
func (m *ReadModel) OverdueCommunications(ctx context.Context, partyID, today string) ([]PlanEntryView, error) {
	if err := checkToday(today); err != nil {
		return nil, err
	}
	cond, args := `e.frequency != '' AND p.status = 'active'`, []any{}
	if partyID != "" {
		cond, args = cond+` AND e.party_id = ?`, append(args, partyID)
	}
	all, err := m.planEntries(ctx, cond, args, today)
	if err != nil {
		return nil, err
	}
	out := []PlanEntryView{}
	for _, e := range all {
		if e.Overdue {
			out = append(out, e)
		}
	}
	// Most overdue first; ties in plan order.
	slices.SortStableFunc(out, func(a, b PlanEntryView) int { return strings.Compare(*a.NextDue, *b.NextDue) })
	return out, nil
}

func (m *ReadModel) planEntries(ctx context.Context, cond string, args []any, today string) ([]PlanEntryView, error) {
	rows, err := m.db.QueryContext(ctx, `SELECT `+planCols+` FROM communication_plan e
		JOIN parties p ON p.id = e.party_id WHERE `+cond+` ORDER BY e.position`, args...)
	if err != nil {
		return nil, fmt.Errorf("projections: communication plan: %w", err)
	}
	defer rows.Close()
	out := []PlanEntryView{}
	for rows.Next() {
		v, err := scanPlanEntry(rows, today)
		if err != nil {
			return nil, fmt.Errorf("projections: communication plan: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projections: communication plan: %w", err)
	}
	return out, nil
}

// PlanEntry returns one plan entry of a party as [ReadModel.CommunicationPlan]
// shows it, or ENOTFOUND.
func (m *ReadModel) PlanEntry(ctx context.Context, partyID, id, today string) (PlanEntryView, error) {
	if err := checkToday(today); err != nil {
		return PlanEntryView{}, err
	}
	es, err := m.planEntries(ctx, `e.party_id = ? AND e.id = ?`, []any{partyID, id}, today)
	if err != nil {
		return PlanEntryView{}, err
	}
	if len(es) == 0 {
		return PlanEntryView{}, notFound("party %s has no plan entry %s", partyID, id)
	}
	return es[0], nil
}

// Communications returns the log of communications that pass f, in the
// order they were sent (ties in the order they were recorded).
func (m *ReadModel) Communications(ctx context.Context, f CommunicationFilter) ([]CommunicationView, error) {
	conds, args := []string{"1"}, []any{}
	if f.PartyID != "" {
		conds, args = append(conds, "c.party_id = ?"), append(args, f.PartyID)
	}
	rows, err := m.db.QueryContext(ctx, `SELECT `+communicationCols+communicationFrom+` WHERE `+
		strings.Join(conds, " AND ")+` ORDER BY c.sent_at, c.position`, args...)
	if err != nil {
		return nil, fmt.Errorf("projections: communications: %w", err)
	}
	return collectRows(rows, "communications", scanCommunication)
}

// Communication returns one communication of the log, or ENOTFOUND.
func (m *ReadModel) Communication(ctx context.Context, id string) (CommunicationView, error) {
	v, err := scanCommunication(m.db.QueryRowContext(ctx, `SELECT `+communicationCols+communicationFrom+
		` WHERE c.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return CommunicationView{}, notFound("no communication %s", id)
	}
	if err != nil {
		return CommunicationView{}, fmt.Errorf("projections: communication %s: %w", id, err)
	}
	return v, nil
}
