package reminders

import (
	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/projections"
)

// recordedOutcome turns a recorded digest of the read model (a reminder.sent
// or reminder.failed event) into an [Outcome] (its items carry kind and id
// only).
func recordedOutcome(v projections.ReminderView) Outcome {
	o := Outcome{Owner: v.Owner, Window: v.Window, Status: StatusSent, Recipients: v.Recipients,
		MessageID: v.MessageID, Error: v.Error, Attempts: v.Attempts, Position: v.Position}
	if v.Type == domain.EventReminderFailed {
		o.Status = StatusFailed
	}
	o.Items = make([]Item, 0, len(v.Items))
	for _, r := range v.Items {
		o.Items = append(o.Items, Item{Kind: r.Kind, ID: r.ID})
	}
	at := v.Time
	o.RecordedAt = &at
	return o
}
