package reminders_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/handlers/reminders"
	"github.com/partyledger/partyledger/handlers/reminders/smtptest"
)

// byOwner indexes a report's digests.
func byOwner(rep reminders.Report) map[string]reminders.Outcome {
	out := map[string]reminders.Outcome{}
	for _, d := range rep.Digests {
		out[d.Owner] = d
	}
	return out
}

// eventsOf returns the stored events of the given type.
func eventsOf(tb testing.TB, e *env, typ string) []eventstore.Event {
	tb.Helper()
	all, err := e.store.ReadAll(context.Background(), 0, 10000)
	if err != nil {
		tb.Fatal(err)
	}
	var out []eventstore.Event
	for _, ev := range all {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

func itemIDs(items []reminders.Item) []string {
	var ids []string
	for _, it := range items {
		ids = append(ids, it.Kind+":"+it.ID)
	}
	slices.Sort(ids)
	return ids
}

func TestDueGroupsEverythingPerOwner(t *testing.T) {
	e := MustOpenEnv(t, "")
	f := e.MustLoadFixture(t)
	due, err := e.plan.Due(context.Background(), now, berlin(t), "")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, g := range due {
		got[g.Owner] = itemIDs(g.Items)
	}
	want := map[string][]string{
		"CISO":          {"review_due:" + string(f.encrypt), "undecided:" + string(f.backups)},
		"Head of Legal": {"review_due:" + string(f.escrow)},
		"Comms Lead":    {"communication_due:" + string(f.plan)},
	}
	for o, w := range want {
		if !slices.Equal(got[o], w) {
			t.Errorf("%s: items %v, want %v", o, got[o], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("owners %v, want %d", got, len(want))
	}
	for _, g := range due {
		for _, it := range g.Items {
			if it.Link == "" || !strings.HasPrefix(it.Link, "/parties/"+string(f.party)) {
				t.Errorf("%s %s: link %q", it.Kind, it.ID, it.Link)
			}
			// Escrow is due today; everything else was due before.
			if (it.ID != string(f.escrow)) != it.Overdue {
				t.Errorf("%s: overdue = %v", it.Title, it.Overdue)
			}
		}
	}
	// Undecided for longer than UndecidedAfter only: 60 days keeps Backups out.
	e.plan.UndecidedAfter = 60 * 24 * 60 * 60 * 1e9
	due, err = e.plan.Due(context.Background(), now, berlin(t), "ciso")
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 1 || !slices.Equal(itemIDs(due[0].Items), []string{"review_due:" + string(f.encrypt)}) {
		t.Errorf("CISO with undecided-after 60 days: %+v", due)
	}
}

func TestRunSendsOneDigestPerOwnerAndRecordsIt(t *testing.T) {
	e := MustOpenEnv(t, "")
	f := e.MustLoadFixture(t)
	ms := smtptest.MustStart(t)
	rep, err := e.runner(t, ms).Run(context.Background(), reminders.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Window != "2026-03-02" {
		t.Errorf("window %q", rep.Window)
	}
	got := byOwner(rep)
	if got["CISO"].Status != reminders.StatusSent || got["Head of Legal"].Status != reminders.StatusSent {
		t.Errorf("statuses: %+v", rep.Digests)
	}
	if got["Comms Lead"].Status != reminders.StatusNoContacts {
		t.Errorf("Comms Lead: %+v, want no_contacts", got["Comms Lead"])
	}
	msgs := ms.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2 (one per owner with contacts)", len(msgs))
	}
	var ciso smtptest.Received
	for _, m := range msgs {
		if slices.Contains(m.To, "ciso@example.com") {
			ciso = m
		}
	}
	slices.Sort(ciso.To)
	if !slices.Equal(ciso.To, []string{"ciso@example.com", "deputy@example.com"}) {
		t.Errorf("CISO digest to %v", ciso.To)
	}
	if ciso.From != "partyledger@example.com" {
		t.Errorf("from %q", ciso.From)
	}
	for _, want := range []string{"Encrypt card data", "Offsite backups", "text/plain", "text/html",
		"https://isms.example.com/parties/" + string(f.party), got["CISO"].MessageID} {
		if !strings.Contains(ciso.Data, want) {
			t.Errorf("CISO digest lacks %q:\n%s", want, ciso.Data)
		}
	}
	if strings.Contains(ciso.Data, "Source code escrow") || strings.Contains(ciso.Data, "<img") {
		t.Errorf("CISO digest has another owner's item or an image:\n%s", ciso.Data)
	}
	sent := eventsOf(t, e, domain.EventReminderSent)
	if len(sent) != 2 {
		t.Fatalf("%d reminder.sent events, want 2", len(sent))
	}
	for _, ev := range sent {
		de, err := domain.Decode(ev.Type, ev.Schema, ev.Data)
		if err != nil {
			t.Fatal(err)
		}
		s := de.(domain.ReminderSent)
		if s.Owner == "CISO" {
			if s.MessageID != got["CISO"].MessageID || len(s.Recipients) != 2 || len(s.Items) != 2 {
				t.Errorf("reminder.sent for CISO: %+v", s)
			}
			if ev.Stream != domain.ReminderStream("CISO", "2026-03-02") || ev.Version != 2 {
				t.Errorf("reminder.sent in %s at version %d", ev.Stream, ev.Version)
			}
		}
	}
	outs, err := e.runner(t, ms).Outcomes(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 2 || outs[0].Status != reminders.StatusSent || outs[0].RecordedAt == nil {
		t.Errorf("outcomes: %+v", outs)
	}
}

func TestNoSecondDigestInTheWindow(t *testing.T) {
	e := MustOpenEnv(t, "")
	e.MustLoadFixture(t)
	ms := smtptest.MustStart(t)
	ctx := context.Background()
	if _, err := e.runner(t, ms).Run(ctx, reminders.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	rep, err := e.runner(t, ms).Run(ctx, reminders.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d := byOwner(rep)["CISO"]; d.Status != reminders.StatusAlready {
		t.Errorf("second run: CISO %s, want already_sent", d.Status)
	}
	// A restart: a new process on the same files.
	e.close()
	e2 := MustOpenEnv(t, e.dbPath)
	rep, err = e2.runner(t, ms).Run(ctx, reminders.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d := byOwner(rep)["Head of Legal"]; d.Status != reminders.StatusAlready {
		t.Errorf("after restart: %s, want already_sent", d.Status)
	}
	if n := len(ms.Messages()); n != 2 {
		t.Errorf("%d messages after three runs, want 2", n)
	}
	if n := len(eventsOf(t, e2, domain.EventReminderClaimed)); n != 2 {
		t.Errorf("%d claims, want 2", n)
	}
}

func TestConcurrentRunsSendOnce(t *testing.T) {
	e := MustOpenEnv(t, "")
	e.MustLoadFixture(t)
	ms := smtptest.MustStart(t)
	var wg sync.WaitGroup
	reps := make([]reminders.Report, 4)
	for i := range reps {
		wg.Go(func() {
			rep, err := e.runner(t, ms).Run(context.Background(), reminders.RunOptions{})
			if err != nil {
				t.Error(err)
			}
			reps[i] = rep
		})
	}
	wg.Wait()
	sent := 0
	for _, rep := range reps {
		for _, d := range rep.Digests {
			if d.Status == reminders.StatusSent {
				sent++
			}
		}
	}
	if sent != 2 || len(ms.Messages()) != 2 {
		t.Errorf("%d sent, %d messages; want 2 and 2", sent, len(ms.Messages()))
	}
}

func TestFailingServerRetriesThenRecordsFailure(t *testing.T) {
	e := MustOpenEnv(t, "")
	e.MustLoadFixture(t)
	ms := smtptest.MustStart(t)
	ms.SetFailing(true)
	ctx := context.Background()
	rep, err := e.runner(t, ms).Run(ctx, reminders.RunOptions{Owner: "head of legal"})
	if err != nil {
		t.Fatal(err)
	}
	d := byOwner(rep)["Head of Legal"]
	if d.Status != reminders.StatusFailed || d.Attempts != 3 || !strings.Contains(d.Error, "554") {
		t.Errorf("digest %+v, want failed after 3 attempts with 554", d)
	}
	if got := ms.Attempts(); got != 3 {
		t.Errorf("server saw %d attempts, want 3", got)
	}
	if len(rep.Digests) != 1 {
		t.Errorf("--owner ran %d digests", len(rep.Digests))
	}
	failed := eventsOf(t, e, domain.EventReminderFailed)
	if len(failed) != 1 {
		t.Fatalf("%d reminder.failed events, want 1", len(failed))
	}
	outs, err := e.runner(t, ms).Outcomes(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 1 || outs[0].Status != reminders.StatusFailed {
		t.Errorf("outcomes %+v", outs)
	}
	// The server is back: a later run in the window claims the failed digest again.
	ms.SetFailing(false)
	rep, err = e.runner(t, ms).Run(ctx, reminders.RunOptions{Owner: "Head of Legal"})
	if err != nil {
		t.Fatal(err)
	}
	if d := byOwner(rep)["Head of Legal"]; d.Status != reminders.StatusSent {
		t.Errorf("retry run: %+v", d)
	}
	if n := len(ms.Messages()); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

func TestDryRunSendsAndWritesNothing(t *testing.T) {
	e := MustOpenEnv(t, "")
	e.MustLoadFixture(t)
	ms := smtptest.MustStart(t)
	ctx := context.Background()
	head, _, _ := e.store.Head(ctx)
	rep, err := e.runner(t, ms).Run(ctx, reminders.RunOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if d := byOwner(rep)["CISO"]; d.Status != reminders.StatusWouldSend || len(d.Items) != 2 || len(d.Recipients) != 2 {
		t.Errorf("dry run CISO: %+v", d)
	}
	after, _, _ := e.store.Head(ctx)
	if after != head || len(ms.Messages()) != 0 || ms.Attempts() != 0 {
		t.Errorf("dry run wrote %d events and sent %d messages", after-head, len(ms.Messages()))
	}
	// A run without a mailer can only be dry.
	r := e.runner(t, ms)
	r.Mailer = nil
	if _, err := r.Run(ctx, reminders.RunOptions{}); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("run without mailer: %v, want EINVALID", err)
	}
}

func TestOwnerContacts(t *testing.T) {
	e := MustOpenEnv(t, "")
	e.MustLoadFixture(t)
	ctx := context.Background()
	head, _, _ := e.store.Head(ctx)
	for _, bad := range [][]string{{"not an address"}, {"ok@example.com", ""}, {"a@nodot"}} {
		_, err := e.cts.Set(ctx, "CISO", bad, meta)
		if domain.ErrorCode(err) != domain.EINVALID {
			t.Errorf("Set(%q) = %v, want EINVALID", bad, err)
		}
	}
	if after, _, _ := e.store.Head(ctx); after != head {
		t.Errorf("bad input wrote %d events", after-head)
	}
	// The same addresses again change nothing.
	if _, err := e.cts.Set(ctx, "ciso", []string{"ciso@example.com", "deputy@example.com"}, meta); err != nil {
		t.Fatal(err)
	}
	if after, _, _ := e.store.Head(ctx); after != head {
		t.Errorf("an unchanged list wrote %d events", after-head)
	}
	names, err := reminders.OwnerNames(ctx, e.reads, nil)
	if err != nil {
		t.Fatal(err)
	}
	list, err := e.cts.List(ctx, names)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]reminders.Owner{}
	for _, o := range list {
		got[o.Name] = o
	}
	if o := got["CISO"]; !o.InUse || len(o.Emails) != 2 || o.UpdatedAt == nil {
		t.Errorf("CISO: %+v", o)
	}
	for _, gap := range []string{"Sales", "Comms Lead"} {
		if o, ok := got[gap]; !ok || !o.InUse || len(o.Emails) != 0 {
			t.Errorf("%s: %+v (present %v), want listed in use with no contact", gap, o, ok)
		}
	}
}

// TestDueIncludesManagementReviewActions: an open action of a management
// review is due for its owner on its due date, and is gone once completed.
func TestDueIncludesManagementReviewActions(t *testing.T) {
	e := MustOpenEnv(t, filepath.Join(t.TempDir(), "log.db"))
	ctx := context.Background()
	meta := domain.Meta{Actor: "ciso", Reason: "Q1 review"}
	due := now.AddDate(0, 0, -1).Format(domain.DateLayout)
	res, err := e.svc.HoldManagementReview(ctx, domain.HoldManagementReview{Meta: meta, HeldOn: now.AddDate(0, 0, -7).Format(domain.DateLayout),
		Title: "Q1", Actions: []domain.ActionInput{{Title: "Update the SoA", Owner: "CISO", DueOn: due}}})
	if err != nil {
		t.Fatal(err)
	}
	plan := &reminders.Planner{Sources: e.reads, Actions: reminders.ReviewActions{Reads: e.reads}}
	find := func() *reminders.Item {
		t.Helper()
		owners, err := plan.Due(ctx, now, time.UTC, "ciso")
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range owners {
			for i, it := range o.Items {
				if it.Kind == reminders.KindActionDue {
					return &o.Items[i]
				}
			}
		}
		return nil
	}
	it := find()
	if it == nil || it.Title != "Update the SoA" || it.Due != due || !it.Overdue {
		t.Fatalf("action item = %+v, want the overdue SoA action", it)
	}
	rid := domain.ReviewID(strings.TrimPrefix(res.Stream, "review-"))
	if _, err := e.svc.CompleteAction(ctx, domain.CompleteAction{Meta: meta, ReviewID: rid, ActionID: domain.ActionID(it.ID),
		Evidence: "SoA v7"}); err != nil {
		t.Fatal(err)
	}
	if it := find(); it != nil {
		t.Fatalf("a completed action is still due: %+v", it)
	}
}
