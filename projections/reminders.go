package projections

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// reminders projects the recorded reminder digests (reminder.sent and
// reminder.failed) into the reminders table, and the items each names into
// reminder_items. reminder.claimed is not projected: a claim is not evidence
// that anyone was told.
type reminders struct {
	ins, item *sql.Stmt
}

func newReminders() *reminders { return &reminders{} }

func (r *reminders) name() string                { return "reminders" }
func (r *reminders) tables() []string            { return []string{"reminders", "reminder_items"} }
func (r *reminders) setCacheLimit(int)           {}
func (r *reminders) flush(context.Context) error { return nil }
func (r *reminders) end(bool)                    { r.ins, r.item = nil, nil }

func (r *reminders) begin(ctx context.Context, tx *sql.Tx) error {
	var err error
	if r.ins, err = tx.PrepareContext(ctx, `INSERT INTO reminders (position, event_id, type, owner, owner_key,
			cadence_window, recipients, message_id, error, attempts, time, actor, reason, "trigger")
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (position) DO NOTHING`); err != nil {
		return err
	}
	r.item, err = tx.PrepareContext(ctx, `INSERT INTO reminder_items (item_id, position, kind)
		VALUES (?, ?, ?) ON CONFLICT DO NOTHING`)
	return err
}

func (r *reminders) apply(ctx context.Context, ev *eventstore.Event, de domain.Event) error {
	var (
		owner, window, messageID, failure string
		recipients                        []string
		items                             []domain.ReminderItemRef
		attempts                          int
	)
	switch e := de.(type) {
	case domain.ReminderSent:
		owner, window, recipients, items, messageID, attempts = e.Owner, e.Window, e.Recipients, e.Items, e.MessageID, e.Attempts
	case domain.ReminderFailed:
		owner, window, recipients, items, failure, attempts = e.Owner, e.Window, e.Recipients, e.Items, e.Error, e.Attempts
	default:
		return nil
	}
	if recipients == nil {
		recipients = []string{}
	}
	rcpt, err := json.Marshal(recipients)
	if err != nil {
		return err
	}
	if _, err := r.ins.ExecContext(ctx, ev.Position, ev.ID, ev.Type, owner, domain.OwnerKey(owner), window,
		string(rcpt), messageID, failure, attempts, formatTime(ev.Time), ev.Actor, ev.Reason, ev.Trigger); err != nil {
		return err
	}
	for _, it := range items {
		if _, err := r.item.ExecContext(ctx, it.ID, ev.Position, it.Kind); err != nil {
			return err
		}
	}
	return nil
}
