package projections

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// remind appends one reminder.sent (fail == "") or reminder.failed naming
// the requirements ids, and returns it as stored.
func (l *ledger) remind(owner, fail string, ids ...domain.RequirementID) eventstore.Event {
	l.tb.Helper()
	var items []domain.ReminderItemRef
	for _, id := range ids {
		items = append(items, domain.ReminderItemRef{Kind: "review_due", ID: string(id)})
	}
	items = append(items, domain.ReminderItemRef{Kind: "communication_due", ID: newID()})
	rcpt := []string{domain.OwnerKey(owner) + "@example.com"}
	var de domain.Event = domain.ReminderSent{Owner: owner, Window: "2026-12-01", Recipients: rcpt, Items: items,
		MessageID: "<" + newID() + "@example.com>", Attempts: 1}
	if fail != "" {
		de = domain.ReminderFailed{Owner: owner, Window: "2026-12-01", Recipients: rcpt, Items: items, Error: fail, Attempts: 3}
	}
	m := domain.Meta{Actor: domain.ReminderActor, Reason: "daily reminder digest", Trigger: "periodic_review"}
	return l.append("reminder-"+newID(), 0, m, []domain.Event{de})[0]
}

func TestRemindersInHistoryReportAndFailures(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	m := MustOpenReadModel(t, store)
	defer MustRun(t, m)()
	l := newLedger(t, store)

	acme := l.identify("Acme", "customer", "external", "")
	gdpr := l.requirement(acme, "requirement", "GDPR Art. 32")
	sla := l.requirement(acme, "requirement", "SLA 99.5")
	bank := l.identify("Bank", "supplier", "external", "")
	loan := l.requirement(bank, "requirement", "Loan covenant")

	first := l.remind("DPO", "", gdpr, loan)
	l.reviseRequirement(domain.ReviseRequirement{PartyID: acme, RequirementID: gdpr, Title: ptr("GDPR Art. 32 security")})
	second := l.remind("DPO", "", gdpr)
	l.remind("CISO", "connection refused")
	l.remind("CISO", "")
	l.remind("Head of Sales", "554 rejected")
	lastFail := l.remind("Head of Sales", "421 try later")
	MustWait(t, m, l.head)

	check := func(t *testing.T) {
		// The party's history: the reminders among its changes, in position
		// order, naming the requirement as it stood then.
		h, err := m.History(ctx, string(acme), "")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i, it := range h {
			if i > 0 && h[i-1].Position > it.Position {
				t.Fatalf("history not in position order at %d", i)
			}
			if it.Change == ChangeReminderSent {
				if it.Reminder == nil || it.Reminder.Owner != "DPO" || len(it.Reminder.Recipients) != 1 ||
					it.Party.Name != "Acme" || it.Type != domain.EventReminderSent || it.Actor != domain.ReminderActor {
					t.Fatalf("reminder item %+v", it)
				}
				got = append(got, it.Requirement.Title+"@"+it.EventID)
			}
		}
		want := []string{"GDPR Art. 32@" + first.ID, "GDPR Art. 32 security@" + second.ID}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("reminders in Acme's history (-want +got):\n%s", diff)
		}
		// One requirement's history; a requirement never reminded has none.
		for rid, want := range map[domain.RequirementID]int{gdpr: 2, sla: 0} {
			h, err := m.History(ctx, string(acme), string(rid))
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, it := range h {
				if it.Change == ChangeReminderSent {
					n++
					if it.Requirement.ID != string(rid) {
						t.Fatalf("reminder of %s in the history of %s", it.Requirement.ID, rid)
					}
				}
			}
			if n != want {
				t.Fatalf("requirement %s: %d reminders in its history, want %d", rid, n, want)
			}
		}
		h, err = m.History(ctx, string(bank), "")
		if err != nil {
			t.Fatal(err)
		}
		if last := h[len(h)-1]; last.Change != ChangeReminderSent || last.Requirement.ID != string(loan) {
			t.Fatalf("Bank's history ends with %+v, want the reminder of its loan covenant", last)
		}

		// Counts per item, in a window.
		all, err := m.RemindedItems(ctx, Window{})
		if err != nil {
			t.Fatal(err)
		}
		if got := all[string(gdpr)]; got.Times != 2 || !got.Last.Equal(second.Time) {
			t.Fatalf("GDPR reminded %+v, want 2 times, last %s", got, second.Time)
		}
		if _, ok := all[string(sla)]; ok {
			t.Fatal("SLA counted as reminded")
		}
		after, err := m.RemindedItems(ctx, Window{After: first.Position})
		if err != nil {
			t.Fatal(err)
		}
		if after[string(gdpr)].Times != 1 || after[string(loan)].Times != 0 {
			t.Fatalf("after the first digest: %+v", after)
		}
		before, err := m.RemindedItems(ctx, Window{Until: first.Position})
		if err != nil {
			t.Fatal(err)
		}
		if before[string(gdpr)].Times != 1 || before[string(loan)].Times != 1 {
			t.Fatalf("up to the first digest: %+v", before)
		}

		// Failures not followed by a sent digest: the CISO's was; the Head
		// of Sales' last one is shown, once.
		fails, err := m.ReminderFailures(ctx, Window{})
		if err != nil {
			t.Fatal(err)
		}
		if len(fails) != 1 || fails[0].Owner != "Head of Sales" || fails[0].Position != lastFail.Position ||
			fails[0].Error != "421 try later" || fails[0].Attempts != 3 {
			t.Fatalf("failures %+v", fails)
		}
		// Up to the CISO's failure, it was not yet resolved.
		fails, err = m.ReminderFailures(ctx, Window{Until: second.Position + 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(fails) != 1 || fails[0].Owner != "CISO" {
			t.Fatalf("failures up to the CISO's: %+v", fails)
		}
		// Every digest, newest first, with its items in the event's order.
		recs, err := m.Reminders(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 6 || recs[0].Position != lastFail.Position || recs[5].Position != first.Position {
			t.Fatalf("reminders %+v", recs)
		}
		if it := recs[5].Items; len(it) != 3 || it[0].ID != string(gdpr) || it[1].ID != string(loan) || it[2].Kind != "communication_due" {
			t.Fatalf("items of the first digest %+v", it)
		}
		if recs, err = m.Reminders(ctx, 2); err != nil || len(recs) != 2 || recs[1].Type != domain.EventReminderFailed ||
			len(recs[1].Items) != 1 {
			t.Fatalf("the last two reminders %+v %v", recs, err)
		}
		last, ok, err := m.LastReminderSent(ctx)
		if err != nil || !ok || last.Owner != "CISO" || last.MessageID == "" {
			t.Fatalf("last sent %+v %v %v", last, ok, err)
		}
	}
	t.Run("live", check)
	if err := m.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	t.Run("rebuilt", check)
}

func TestNoReminderSentYet(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	m := MustOpenReadModel(t, store)
	defer MustRun(t, m)()
	if _, ok, err := m.LastReminderSent(ctx); ok || err != nil {
		t.Fatalf("last sent on an empty log: %v %v", ok, err)
	}
	fails, err := m.ReminderFailures(ctx, Window{})
	if err != nil || len(fails) != 0 {
		t.Fatalf("failures on an empty log: %v %v", fails, err)
	}
}
