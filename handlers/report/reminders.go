package report

import (
	"context"
	"fmt"
	"strings"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/projections"
)

// ReminderReads gives the recorded reminder digests (implemented by
// *projections.ReadModel); a [Reads] that offers it adds to the loose ends
// how often each was chased in the window, and the owners whose reminders
// failed.
type ReminderReads interface {
	RemindedItems(ctx context.Context, w projections.Window) (map[string]projections.Reminded, error)
	ReminderFailures(ctx context.Context, w projections.Window) ([]projections.ReminderView, error)
}

// remindedLoose notes on the open requirements how often a reminder.sent
// in the window named each, and lists the owners whose last reminder in
// the window failed with no sent one after it.
func (b *Builder) remindedLoose(ctx context.Context, rep *Report, w projections.Window) error {
	rr, ok := b.Reads.(ReminderReads)
	if !ok || w.Until < 0 {
		return nil
	}
	sent, err := rr.RemindedItems(ctx, w)
	if err != nil {
		return fmt.Errorf("report: reminders: %w", err)
	}
	for _, list := range [][]OpenRequirement{rep.Undecided, rep.PastDue} {
		for i := range list {
			list[i].Reminded = sent[list[i].Requirement.ID]
		}
	}
	if rep.ReminderFailures, err = rr.ReminderFailures(ctx, w); err != nil {
		return fmt.Errorf("report: reminder failures: %w", err)
	}
	return nil
}

// RemindedText says how often the requirement's owner was reminded of it in
// the window: "reminded 3 times, last 2026-11-30"; "" when never.
func (o OpenRequirement) RemindedText() string {
	switch n := o.Reminded.Times; n {
	case 0:
		return ""
	case 1:
		return "reminded once, " + o.Reminded.Last.UTC().Format(domain.DateLayout)
	default:
		return fmt.Sprintf("reminded %d times, last %s", n, o.Reminded.Last.UTC().Format(domain.DateLayout))
	}
}

// TitleWithReminders is the requirement's title for the loose-ends tables,
// followed by [OpenRequirement.RemindedText] when it was reminded of.
func (o OpenRequirement) TitleWithReminders() string {
	if t := o.RemindedText(); t != "" {
		return o.Requirement.Title + " (" + t + ")"
	}
	return o.Requirement.Title
}

// FailedReminderLines words the owners whose reminders failed, one line
// each: "Head of Sales: 2026-11-30, 554 rejected (3 attempts)".
func (r *Report) FailedReminderLines() []string {
	out := make([]string, 0, len(r.ReminderFailures))
	for _, f := range r.ReminderFailures {
		line := f.Owner + ": " + f.Time.UTC().Format(domain.DateLayout) + ", " + strings.TrimSpace(f.Error)
		if f.Attempts > 0 {
			line += fmt.Sprintf(" (%d attempts)", f.Attempts)
		}
		out = append(out, line)
	}
	return out
}

// FailedRemindersHeading titles the list of [Report.FailedReminderLines].
const FailedRemindersHeading = "Owners whose reminders failed"
