package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// EventPositions returns the positions of the events that match f, after
// f.After, in position order, at most f.Limit of them (0: the default);
// more reports whether further events match. It returns EINVALID for a bad
// filter. It reads the audit index only: pass the positions to the event
// store for the envelopes.
//
// Plans are chosen here, not left to SQLite (the read model keeps no
// statistics): the most selective equality filter leads through its
// (column, position) index, from the cursor on; a time range becomes a
// position range through tmax, and events stamped out of order are found
// through the small late index, which carries their times.
func (m *ReadModel) EventPositions(ctx context.Context, f EventFilter) (positions []int64, more bool, err error) {
	if err := f.Validate(); err != nil {
		return nil, false, err
	}
	limit := f.Limit
	if limit == 0 {
		limit = DefaultEventLimit
	}
	vals := map[string]string{"requirement_id": f.Requirement, "party_id": f.Party, "stream": f.Stream,
		"actor": f.Actor, `"trigger"`: f.Trigger, "type": f.Type}
	lead := ""
	var eqs []string
	var eqArgs []any
	for _, k := range auditKeyIndexes {
		if v := vals[k.col]; v != "" {
			if lead == "" {
				lead = k.index
			}
			eqs, eqArgs = append(eqs, k.col+" = ?"), append(eqArgs, v)
		}
	}
	lower := f.After // position > lower
	var timeConds []string
	var timeArgs []any
	if !f.From.IsZero() {
		from := formatTime(f.From)
		// Every event before the first position whose tmax reaches from
		// is stamped before from.
		var lo int64
		err := m.db.QueryRowContext(ctx, `SELECT position FROM audit_index WHERE tmax >= ?
			ORDER BY tmax, position LIMIT 1`, from).Scan(&lo)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("projections: events: %w", err)
		}
		lower = max(lower, lo-1)
		timeConds, timeArgs = append(timeConds, "time >= ?"), append(timeArgs, from)
	}
	// part renders one SELECT of positions over an index with conditions.
	part := func(index string, lower int64, conds []string, args []any) (string, []any) {
		from := "audit_index"
		if index != "" {
			from += " INDEXED BY " + index
		}
		all := append([]string{"position > ?"}, conds...)
		all = append(all, eqs...)
		all = append(all, timeConds...)
		a := append([]any{lower}, args...)
		a = append(a, eqArgs...)
		a = append(a, timeArgs...)
		return `SELECT position FROM ` + from + ` WHERE ` + strings.Join(all, " AND ") +
			` ORDER BY position LIMIT ?`, append(a, limit+1)
	}
	var q string
	var args []any
	if f.To.IsZero() {
		q, args = part(lead, lower, nil, nil)
	} else {
		to := formatTime(f.To)
		// Up to hi, tmax <= to: time bounds position. After hi only late
		// events can be stamped at or before to.
		var hi int64
		err := m.db.QueryRowContext(ctx, `SELECT position FROM audit_index WHERE tmax <= ?
			ORDER BY tmax DESC, position DESC LIMIT 1`, to).Scan(&hi)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, false, fmt.Errorf("projections: events: %w", err)
		}
		main, mainArgs := part(lead, lower, []string{"position <= ?", "time <= ?"}, []any{hi, to})
		late, lateArgs := part("audit_late", max(lower, hi), []string{"late = 1", "time <= ?"}, []any{to})
		q = `SELECT position FROM (` + main + `) UNION ALL SELECT position FROM (` + late + `) ORDER BY position LIMIT ?`
		args = append(append(mainArgs, lateArgs...), limit+1)
	}
	rows, err := m.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, false, fmt.Errorf("projections: events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p int64
		if err := rows.Scan(&p); err != nil {
			return nil, false, fmt.Errorf("projections: events: %w", err)
		}
		positions = append(positions, p)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("projections: events: %w", err)
	}
	if len(positions) > limit {
		return positions[:limit], true, nil
	}
	return positions, false, nil
}

// PositionAt returns the last position whose event is stamped at or before
// t, as far as the audit index has applied the log (0 when there is none).
func (m *ReadModel) PositionAt(ctx context.Context, t time.Time) (int64, error) {
	at := formatTime(t)
	var hi, late sql.NullInt64
	err := m.db.QueryRowContext(ctx, `SELECT position FROM audit_index WHERE tmax <= ?
		ORDER BY tmax DESC, position DESC LIMIT 1`, at).Scan(&hi)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("projections: position at %s: %w", at, err)
	}
	err = m.db.QueryRowContext(ctx, `SELECT MAX(position) FROM audit_index WHERE late = 1 AND time <= ?`, at).Scan(&late)
	if err != nil {
		return 0, fmt.Errorf("projections: position at %s: %w", at, err)
	}
	return max(hi.Int64, late.Int64), nil
}

// AuditCheckpoint returns the position up to which the audit index has
// applied the log.
func (m *ReadModel) AuditCheckpoint(ctx context.Context) (int64, error) {
	var pos int64
	err := m.db.QueryRowContext(ctx, `SELECT position FROM checkpoints WHERE name = 'audit'`).Scan(&pos)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("projections: audit checkpoint: %w", err)
	}
	return pos, nil
}

// History returns every change to a party, oldest first, as change-feed
// items (actor, reason, trigger, time and field changes): the party's own
// events, those of its requirements and those of the relationships it is an
// end of. With requirementID it returns only that requirement's changes. It
// adds the reminder digests sent about its requirements (Change
// [ChangeReminderSent], Reminder set; see reminders_query.go). It returns
// ENOTFOUND when there are none (an unknown party or requirement).
func (m *ReadModel) History(ctx context.Context, partyID, requirementID string) ([]ChangeItem, error) {
	sub := `SELECT position FROM audit_index WHERE party_id = ?
		UNION SELECT c.position FROM changes c JOIN change_relationships r ON r.id = c.relationship_id
		WHERE c.relationship_id IS NOT NULL AND (r.from_party_id = ? OR r.to_party_id = ?)`
	args := []any{partyID, partyID, partyID}
	if requirementID != "" {
		sub = `SELECT position FROM audit_index WHERE requirement_id = ? AND party_id = ?`
		args = []any{requirementID, partyID}
	}
	rows, err := m.db.QueryContext(ctx, `SELECT `+changeCols+` FROM changes
		WHERE position IN (`+sub+`) ORDER BY position`, args...)
	if err != nil {
		return nil, fmt.Errorf("projections: history: %w", err)
	}
	defer rows.Close()
	var out []ChangeItem
	for rows.Next() {
		it, err := scanChange(rows)
		if err != nil {
			return nil, fmt.Errorf("projections: history: %w", err)
		}
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projections: history: %w", err)
	}
	if len(out) == 0 {
		if requirementID != "" {
			return nil, notFound("no requirement %s of party %s", requirementID, partyID)
		}
		return nil, notFound("no party %s", partyID)
	}
	return m.withReminders(ctx, partyID, requirementID, out)
}
