package reminders

import (
	"slices"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// RecordedOutcome turns a stored reminder.sent or reminder.failed event into
// an [Outcome] (its items carry kind and id only).
func RecordedOutcome(ev eventstore.Event, de domain.Event) Outcome {
	var o Outcome
	refs := []domain.ReminderItemRef{}
	switch e := de.(type) {
	case domain.ReminderSent:
		o = Outcome{Owner: e.Owner, Window: e.Window, Status: StatusSent, Recipients: e.Recipients,
			MessageID: e.MessageID, Attempts: e.Attempts}
		refs = e.Items
	case domain.ReminderFailed:
		o = Outcome{Owner: e.Owner, Window: e.Window, Status: StatusFailed, Recipients: e.Recipients,
			Error: e.Error, Attempts: e.Attempts}
		refs = e.Items
	}
	o.Items = make([]Item, 0, len(refs))
	for _, r := range refs {
		o.Items = append(o.Items, Item{Kind: r.Kind, ID: r.ID})
	}
	at := ev.Time
	o.RecordedAt = &at
	o.Position = ev.Position
	return o
}

// sortOutcomes puts the newest first.
func sortOutcomes(out []Outcome) {
	slices.SortFunc(out, func(a, b Outcome) int { return cmpInt(b.Position, a.Position) })
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
