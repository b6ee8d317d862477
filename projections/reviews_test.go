package projections

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/partyledger/partyledger/domain"
)

// reviewOn records a review held on heldOn with the given window (nil:
// the defaults) and actions, deciding as the application layer does.
func (l *ledger) reviewOn(m *ReadModel, heldOn string, from, to *int64, actions ...domain.ActionInput) (domain.ReviewID, error) {
	l.tb.Helper()
	ctx := context.Background()
	MustWait(l.tb, m, l.head)
	log := domain.ReviewLog{Head: l.head}
	if last, ok, err := m.LastReview(ctx); err != nil {
		l.tb.Fatal(err)
	} else if ok {
		log.LatestHeldOn, log.LatestConsideredTo = last.HeldOn, last.ConsideredTo
	}
	id := domain.ReviewID(newID())
	r := &domain.ManagementReview{}
	evs, err := r.Hold(domain.HoldManagementReview{Meta: meta(""), ReviewID: id, HeldOn: heldOn,
		ConsideredFrom: from, ConsideredTo: to, Decisions: []string{"Keep the scope."}, Actions: actions},
		log, l.now)
	if err != nil {
		return "", err
	}
	l.append(id.Stream(), 0, meta(""), evs)
	for _, e := range evs {
		r.Apply(e)
	}
	l.reviews[id] = r
	MustWait(l.tb, m, l.head)
	return id, nil
}

// onReview appends the events a decision on review id returns.
func (l *ledger) onReview(m *ReadModel, id domain.ReviewID, m2 domain.Meta, decide func(r *domain.ManagementReview) ([]domain.Event, error)) {
	l.tb.Helper()
	r := l.reviews[id]
	evs, err := decide(r)
	if err != nil {
		l.tb.Fatal(err)
	}
	l.append(id.Stream(), r.Version, m2, evs)
	for _, e := range evs {
		r.Apply(e)
	}
	MustWait(l.tb, m, l.head)
}

func changeNames(items []ChangeItem) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Party.Name)
	}
	return out
}

// TestLateReviewDoesNotHideChanges is the regression test of issue 15: a
// review entered late (held before the last one) used to become "the last
// review", and the changes since it answered nothing.
func TestLateReviewDoesNotHideChanges(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	m := MustOpenReadModel(t, store)
	MustRun(t, m)
	l := newLedger(t, store)

	l.identify("Acme Bank", "customer", "external", "")
	q1, err := l.reviewOn(m, "2026-02-27", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.identify("Regulator", "regulator", "external", "")
	l.identify("Staff", "employee", "internal", "")

	since := func() []string {
		t.Helper()
		MustWait(t, m, l.head)
		w, _, _, err := ResolveWindow(ctx, m, "last-review", "now")
		if err != nil {
			t.Fatal(err)
		}
		items, err := m.Changes(ctx, w)
		if err != nil {
			t.Fatal(err)
		}
		return changeNames(items)
	}
	want := []string{"Regulator", "Staff"}
	if diff := cmp.Diff(want, since()); diff != "" {
		t.Fatalf("changes since Q1 (-want +got):\n%s", diff)
	}

	// January's review entered late: refused without its window...
	if _, err := l.reviewOn(m, "2026-01-15", nil, nil); domain.ErrorCode(err) != domain.EINVALID {
		t.Fatalf("late review without window: %v, want invalid", err)
	}
	// ...accepted with it, and then it is not the last review.
	jan, err := l.reviewOn(m, "2026-01-15", ptr(int64(0)), ptr(int64(1)))
	if err != nil {
		t.Fatal(err)
	}
	if rv, err := m.Review(ctx, string(jan)); err != nil || !rv.Late || rv.ConsideredTo != 1 {
		t.Errorf("late review = %+v, %v", rv, err)
	}
	if last, _, _ := m.LastReview(ctx); last.ID != string(q1) {
		t.Errorf("last review = %s (held %s), want Q1 %s", last.ID, last.HeldOn, q1)
	}
	if diff := cmp.Diff(want, since()); diff != "" {
		t.Errorf("changes since the last review after a late one (-want +got):\n%s", diff)
	}

	// A voided review no longer counts as a boundary: January is last again.
	l.onReview(m, q1, meta("Recorded against the wrong quarter."), func(r *domain.ManagementReview) ([]domain.Event, error) {
		return r.Void(domain.VoidManagementReview{Meta: meta("Recorded against the wrong quarter."), ReviewID: q1}, l.now)
	})
	if last, _, _ := m.LastReview(ctx); last.ID != string(jan) {
		t.Errorf("last review after void = %s, want January %s", last.ID, jan)
	}
	if rv, _ := m.Review(ctx, string(q1)); rv.Status != domain.ReviewVoided || rv.Version != 2 {
		t.Errorf("voided review = %+v", rv)
	}
	if diff := cmp.Diff([]string{"Regulator", "Staff"}, since()); diff != "" {
		t.Errorf("changes since January (-want +got):\n%s", diff)
	}

	// A correction of the window moves the boundary.
	l.onReview(m, jan, meta("Window typed wrong."), func(r *domain.ManagementReview) ([]domain.Event, error) {
		return r.Correct(domain.CorrectManagementReview{Meta: meta("Window typed wrong."), ReviewID: jan,
			ConsideredTo: ptr(int64(3)), Title: ptr("January review")}, domain.ReviewLog{Head: l.head}, l.now)
	})
	rv, _ := m.Review(ctx, string(jan))
	if rv.ConsideredTo != 3 || rv.Title != "January review" || rv.Version != 2 {
		t.Errorf("corrected review = %+v", rv)
	}
	if diff := cmp.Diff([]string{"Staff"}, since()); diff != "" {
		t.Errorf("changes since the corrected January review (-want +got):\n%s", diff)
	}
}

func TestReviewActionsAndSettings(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	m := MustOpenReadModel(t, store)
	MustRun(t, m)
	l := newLedger(t, store)
	a1, a2, a3 := domain.ActionID(newID()), domain.ActionID(newID()), domain.ActionID(newID())
	id, err := l.reviewOn(m, "2026-03-02", nil, nil,
		domain.ActionInput{ActionID: a1, Title: "Update SoA", Owner: "CISO", DueOn: "2026-03-01"},
		domain.ActionInput{ActionID: a2, Title: "Train staff", Owner: "HR", DueOn: "2026-06-30"},
		domain.ActionInput{ActionID: a3, Title: "Buy a fax", Owner: "IT", DueOn: "2026-04-01"})
	if err != nil {
		t.Fatal(err)
	}
	rv := l.reviews[id]
	act := func(aid domain.ActionID, decide func(a *domain.ReviewAction) ([]domain.Event, error)) {
		a, ok := domain.NewReviewAction(rv, aid)
		if !ok {
			t.Fatal("no action")
		}
		evs, err := decide(a)
		if err != nil {
			t.Fatal(err)
		}
		l.append(aid.Stream(), 0, meta("done"), evs)
	}
	act(a2, func(a *domain.ReviewAction) ([]domain.Event, error) {
		return a.Complete(domain.CompleteAction{Meta: meta(""), ActionID: a2, Evidence: "LMS report"}, rv.Status, l.now)
	})
	act(a3, func(a *domain.ReviewAction) ([]domain.Event, error) {
		return a.Cancel(domain.CancelAction{Meta: meta("No longer needed."), ActionID: a3}, rv.Status, l.now)
	})
	s := &domain.Settings{}
	evs, err := s.Change(domain.ChangeSettings{Meta: meta(""), OrgName: ptr("Acme Payments Ltd")})
	if err != nil {
		t.Fatal(err)
	}
	l.append(domain.SettingsStream, 0, meta(""), evs)
	MustWait(t, m, l.head)

	ids := func(status string) []string {
		t.Helper()
		as, err := m.Actions(ctx, status, "2026-03-10")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range as {
			out = append(out, a.Title+"/"+a.Status)
		}
		return out
	}
	for status, want := range map[string][]string{
		"":        {"Update SoA/open", "Buy a fax/cancelled", "Train staff/done"},
		"open":    {"Update SoA/open"},
		"overdue": {"Update SoA/open"},
		"done":    {"Buy a fax/cancelled", "Train staff/done"},
	} {
		if diff := cmp.Diff(want, ids(status)); diff != "" {
			t.Errorf("actions %q (-want +got):\n%s", status, diff)
		}
	}
	if _, err := m.Actions(ctx, "late", "2026-03-10"); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("unknown status: %v", err)
	}
	a, err := m.Action(ctx, string(id), string(a2), "2026-03-10")
	if err != nil || a.Evidence != "LMS report" || a.ClosedAt == nil || a.ClosedBy != "alice@example.com" {
		t.Errorf("completed action = %+v, %v", a, err)
	}
	if got, _ := m.Review(ctx, string(id)); len(got.Actions) != 3 || got.Decisions[0] != "Keep the scope." {
		t.Errorf("review = %+v", got)
	}
	if st, err := m.Settings(ctx); err != nil || st.OrgName != "Acme Payments Ltd" {
		t.Errorf("settings = %+v, %v", st, err)
	}

	// A rebuild gives the same tables.
	before := dumpTables(t, m.db)
	if err := m.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, dumpTables(t, m.db)); diff != "" {
		t.Errorf("rebuild differs (-live +rebuilt):\n%s", diff)
	}
}
