package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// ChangeReminderSent is the change kind of a history item that records a
// reminder digest naming the requirement (see [ReadModel.History]). It is
// never a feed item: being chased changes no need or expectation.
const ChangeReminderSent = "reminder_sent"

// ReminderRef is what a history item of a reminder says about the digest:
// whom it chased, at which addresses, in which cadence window.
type ReminderRef struct {
	Owner      string   `json:"owner"`
	Recipients []string `json:"recipients"`
	Window     string   `json:"window"`
	MessageID  string   `json:"message_id"`
}

// ReminderView is one recorded reminder digest: a reminder.sent (MessageID
// set) or a reminder.failed (Error set) event.
type ReminderView struct {
	Position   int64     `json:"position"`
	EventID    string    `json:"event_id"`
	Type       string    `json:"type"`
	Owner      string    `json:"owner"`
	Window     string    `json:"window"`
	Recipients []string  `json:"recipients"`
	MessageID  string    `json:"message_id"`
	Error      string    `json:"error"`
	Attempts   int       `json:"attempts"`
	Time       time.Time `json:"time"`
	Actor      string    `json:"actor"`
	Reason     string    `json:"reason"`
	Trigger    string    `json:"trigger"`
	// Items are the items the digest named, in its order (set by
	// [ReadModel.Reminders] only).
	Items []ReminderItem `json:"items,omitempty"`
}

// ReminderItem is one item a digest named, by kind and id.
type ReminderItem struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// Reminded says how often an item was reminded of in a window.
type Reminded struct {
	Times int       // reminder.sent events naming the item
	Last  time.Time // the time of the last of them
}

const reminderCols = `r.position, r.event_id, r.type, r.owner, r.cadence_window, r.recipients, r.message_id,
	r.error, r.attempts, r.time, r.actor, r.reason, r."trigger"`

func scanReminder(s scanner, extra ...any) (ReminderView, error) {
	var v ReminderView
	var rcpt, at string
	dst := append([]any{&v.Position, &v.EventID, &v.Type, &v.Owner, &v.Window, &rcpt, &v.MessageID,
		&v.Error, &v.Attempts, &at, &v.Actor, &v.Reason, &v.Trigger}, extra...)
	if err := s.Scan(dst...); err != nil {
		return v, err
	}
	if err := json.Unmarshal([]byte(rcpt), &v.Recipients); err != nil {
		return v, fmt.Errorf("recipients at %d: %w", v.Position, err)
	}
	t, err := parseTime(at)
	if err != nil {
		return v, err
	}
	v.Time = t
	return v, nil
}

// windowClause restricts r.position and r.time to w.
func windowClause(w Window) (string, []any) {
	var sb strings.Builder
	args := []any{w.After}
	sb.WriteString(` AND r.position > ?`)
	switch {
	case w.Until < 0:
		sb.WriteString(` AND 0`)
	case w.Until > 0:
		sb.WriteString(` AND r.position <= ?`)
		args = append(args, w.Until)
	}
	if !w.FromTime.IsZero() {
		sb.WriteString(` AND r.time >= ?`)
		args = append(args, formatTime(w.FromTime))
	}
	if !w.UntilTime.IsZero() {
		sb.WriteString(` AND r.time <= ?`)
		args = append(args, formatTime(w.UntilTime))
	}
	return sb.String(), args
}

// RemindedItems returns, per item id (a requirement's, a plan entry's, a
// KPI's or an action's, as the digests list them), how often a
// reminder.sent in the window named it and when last. Items never reminded
// of in the window are absent.
func (m *ReadModel) RemindedItems(ctx context.Context, w Window) (map[string]Reminded, error) {
	where, args := windowClause(w)
	rows, err := m.db.QueryContext(ctx, `SELECT i.item_id, COUNT(DISTINCT r.position), MAX(r.time)
		FROM reminder_items i JOIN reminders r ON r.position = i.position
		WHERE r.type = ?`+where+` GROUP BY i.item_id`, append([]any{domain.EventReminderSent}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("projections: reminded items: %w", err)
	}
	defer rows.Close()
	out := map[string]Reminded{}
	for rows.Next() {
		var id, last string
		var n int
		if err := rows.Scan(&id, &n, &last); err != nil {
			return nil, fmt.Errorf("projections: reminded items: %w", err)
		}
		t, err := parseTime(last) // fixed-width UTC times: MAX is the latest
		if err != nil {
			return nil, fmt.Errorf("projections: reminded items: %w", err)
		}
		out[id] = Reminded{Times: n, Last: t}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projections: reminded items: %w", err)
	}
	return out, nil
}

// ReminderFailures returns, per owner, the last reminder.failed in the
// window that no later reminder.sent to that owner (in the window)
// followed: the owners whose reminders did not reach them. Newest first.
// The zero Window covers the whole log.
func (m *ReadModel) ReminderFailures(ctx context.Context, w Window) ([]ReminderView, error) {
	where, args := windowClause(w)
	later := `s.position > r.position`
	if w.Until > 0 {
		later += ` AND s.position <= ?`
		args = append(args, w.Until)
	}
	// Any later digest of the owner, sent or failed, excludes a failure: a
	// later failure is the one shown, a later success resolves it.
	q := `SELECT ` + reminderCols + ` FROM reminders r WHERE r.type = ?` + where + `
		AND NOT EXISTS (SELECT 1 FROM reminders s WHERE s.owner_key = r.owner_key AND ` + later + `)
		ORDER BY r.position DESC`
	rows, err := m.db.QueryContext(ctx, q, append([]any{domain.EventReminderFailed}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("projections: reminder failures: %w", err)
	}
	defer rows.Close()
	out := []ReminderView{}
	for rows.Next() {
		v, err := scanReminder(rows)
		if err != nil {
			return nil, fmt.Errorf("projections: reminder failures: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projections: reminder failures: %w", err)
	}
	return out, nil
}

// Reminders returns the recorded digests, sent and failed, newest first,
// each with its items; at most limit of them (0: all).
func (m *ReadModel) Reminders(ctx context.Context, limit int) ([]ReminderView, error) {
	q := `SELECT ` + reminderCols + ` FROM reminders r ORDER BY r.position DESC`
	var args []any
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := m.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("projections: reminders: %w", err)
	}
	out := []ReminderView{}
	for rows.Next() {
		v, err := scanReminder(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("projections: reminders: %w", err)
		}
		v.Items = []ReminderItem{}
		out = append(out, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projections: reminders: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	at := make(map[int64]int, len(out))
	for i, v := range out {
		at[v.Position] = i
	}
	// rowid order is the order apply inserted them: the event's.
	rows, err = m.db.QueryContext(ctx, `SELECT position, kind, item_id FROM reminder_items
		WHERE position BETWEEN ? AND ? ORDER BY rowid`, out[len(out)-1].Position, out[0].Position)
	if err != nil {
		return nil, fmt.Errorf("projections: reminder items: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var pos int64
		var it ReminderItem
		if err := rows.Scan(&pos, &it.Kind, &it.ID); err != nil {
			return nil, fmt.Errorf("projections: reminder items: %w", err)
		}
		if i, ok := at[pos]; ok {
			out[i].Items = append(out[i].Items, it)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projections: reminder items: %w", err)
	}
	return out, nil
}

// LastReminderSent returns the last reminder.sent of the log, and false
// when no digest was ever sent.
func (m *ReadModel) LastReminderSent(ctx context.Context) (ReminderView, bool, error) {
	row := m.db.QueryRowContext(ctx, `SELECT `+reminderCols+` FROM reminders r WHERE r.type = ?
		ORDER BY r.position DESC LIMIT 1`, domain.EventReminderSent)
	v, err := scanReminder(row)
	if err == sql.ErrNoRows {
		return v, false, nil
	}
	if err != nil {
		return v, false, fmt.Errorf("projections: last reminder: %w", err)
	}
	return v, true, nil
}

// withReminders adds to a party's (or with requirementID, one
// requirement's) history the reminder.sent digests that named its
// requirements, one item per requirement named, in position order. Each
// takes the party and requirement as the history last showed them before
// it.
func (m *ReadModel) withReminders(ctx context.Context, partyID, requirementID string, items []ChangeItem) ([]ChangeItem, error) {
	q := `SELECT ` + reminderCols + `, i.item_id FROM reminder_items i JOIN reminders r ON r.position = i.position
		WHERE r.type = ? AND i.item_id IN (SELECT requirement_id FROM audit_index
			WHERE party_id = ? AND requirement_id IS NOT NULL)`
	args := []any{domain.EventReminderSent, partyID}
	if requirementID != "" {
		q = `SELECT ` + reminderCols + `, i.item_id FROM reminder_items i JOIN reminders r ON r.position = i.position
			WHERE r.type = ? AND i.item_id = ?`
		args = []any{domain.EventReminderSent, requirementID}
	}
	rows, err := m.db.QueryContext(ctx, q+` ORDER BY r.position, i.item_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("projections: history reminders: %w", err)
	}
	defer rows.Close()
	type reminded struct {
		v   ReminderView
		rid string
	}
	var rs []reminded
	for rows.Next() {
		var rid string
		v, err := scanReminder(rows, &rid)
		if err != nil {
			return nil, fmt.Errorf("projections: history reminders: %w", err)
		}
		rs = append(rs, reminded{v, rid})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projections: history reminders: %w", err)
	}
	if len(rs) == 0 {
		return items, nil
	}
	out := make([]ChangeItem, 0, len(items)+len(rs))
	party := PartyRef{ID: partyID}
	reqs := map[string]RequirementRef{}
	i := 0
	for _, r := range rs {
		for ; i < len(items) && items[i].Position < r.v.Position; i++ {
			it := items[i]
			if it.Party.ID == partyID {
				party = it.Party
			}
			if it.Requirement != nil {
				reqs[it.Requirement.ID] = *it.Requirement
			}
			out = append(out, it)
		}
		req, ok := reqs[r.rid]
		if !ok {
			req = RequirementRef{ID: r.rid}
		}
		out = append(out, ChangeItem{Position: r.v.Position, EventID: r.v.EventID, Type: r.v.Type, Time: r.v.Time,
			Actor: r.v.Actor, Reason: r.v.Reason, Trigger: r.v.Trigger,
			EffectiveOn: r.v.Time.UTC().Format(eventstore.DateLayout), Party: party, Requirement: &req,
			Change: ChangeReminderSent, Changes: []FieldChange{},
			Reminder: &ReminderRef{Owner: r.v.Owner, Recipients: r.v.Recipients, Window: r.v.Window, MessageID: r.v.MessageID}})
	}
	out = append(out, items[i:]...)
	return out, nil
}
