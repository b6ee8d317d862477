package projections

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/partyledger/partyledger/domain"
)

// TestReviewAsOf: a review read as of a position shows the corrections,
// the void and the action events up to it only; an action added by a later
// correction is left out, one removed (cancelled) later is open. The
// organisation's name reads the same way, and a rebuild gives the same
// history.
func TestReviewAsOf(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	m := MustOpenReadModel(t, store)
	MustRun(t, m)
	l := newLedger(t, store)
	rename := func(s *domain.Settings, name string) {
		t.Helper()
		evs, err := s.Change(domain.ChangeSettings{Meta: meta(""), OrgName: ptr(name)})
		if err != nil {
			t.Fatal(err)
		}
		l.append(domain.SettingsStream, s.Version, meta(""), evs)
		for _, e := range evs {
			s.Apply(e)
		}
		MustWait(t, m, l.head)
	}
	st := &domain.Settings{}
	rename(st, "Acme Payments Ltd")
	keep, drop := domain.ActionID(newID()), domain.ActionID(newID())
	id, err := l.reviewOn(m, "2026-03-02", nil, nil,
		domain.ActionInput{ActionID: keep, Title: "Update SoA", Owner: "CISO", DueOn: "2026-03-01"},
		domain.ActionInput{ActionID: drop, Title: "Buy a fax", Owner: "IT", DueOn: "2026-04-01"})
	if err != nil {
		t.Fatal(err)
	}
	held := l.head

	// A correction: new title, one action added, one removed (cancelled in
	// its own stream), then the organisation renamed and the review voided.
	added := domain.ActionID(newID())
	rv := l.reviews[id]
	l.onReview(m, id, meta("Minutes amended."), func(r *domain.ManagementReview) ([]domain.Event, error) {
		return r.Correct(domain.CorrectManagementReview{Meta: meta("Minutes amended."), ReviewID: id, Title: ptr("Q1 (amended)"),
			AddActions:    []domain.ActionInput{{ActionID: added, Title: "Train the board", Owner: "CEO", DueOn: "2026-09-01"}},
			RemoveActions: []domain.ActionID{drop}}, domain.ReviewLog{Head: l.head}, l.now)
	})
	a, _ := domain.NewReviewAction(rv, drop)
	evs, err := a.Cancel(domain.CancelAction{Meta: meta("Minutes amended."), ReviewID: id, ActionID: drop}, rv.Status, l.now)
	if err != nil {
		t.Fatal(err)
	}
	l.append(drop.Stream(), 0, meta("Minutes amended."), evs)
	MustWait(t, m, l.head)
	corrected := l.head
	rename(st, "Acme Group plc")
	l.onReview(m, id, meta("Recorded twice."), func(r *domain.ManagementReview) ([]domain.Event, error) {
		return r.Void(domain.VoidManagementReview{Meta: meta("Recorded twice."), ReviewID: id}, l.now)
	})

	type view struct {
		Title, Status string
		Version       int64
		Actions       []string
	}
	at := func(pos int64) view {
		t.Helper()
		rv, err := m.ReviewAsOf(ctx, string(id), pos)
		if err != nil {
			t.Fatal(err)
		}
		v := view{Title: rv.Title, Status: rv.Status, Version: rv.Version}
		for _, a := range rv.Actions {
			v.Actions = append(v.Actions, a.Title+"/"+a.Status+"/"+a.ReviewTitle)
		}
		return v
	}
	for _, tc := range []struct {
		pos  int64
		want view
	}{
		{0, view{"Management review 2026-03-02", "recorded", 1, []string{"Update SoA/open/Management review 2026-03-02", "Buy a fax/open/Management review 2026-03-02"}}},
		{held, view{"Management review 2026-03-02", "recorded", 1, []string{"Update SoA/open/Management review 2026-03-02", "Buy a fax/open/Management review 2026-03-02"}}},
		{corrected - 1, view{"Q1 (amended)", "recorded", 2, []string{"Update SoA/open/Q1 (amended)", "Buy a fax/open/Q1 (amended)", "Train the board/open/Q1 (amended)"}}},
		{corrected, view{"Q1 (amended)", "recorded", 2, []string{"Update SoA/open/Q1 (amended)", "Buy a fax/cancelled/Q1 (amended)", "Train the board/open/Q1 (amended)"}}},
		{l.head, view{"Q1 (amended)", "voided", 3, []string{"Update SoA/open/Q1 (amended)", "Buy a fax/cancelled/Q1 (amended)", "Train the board/open/Q1 (amended)"}}},
	} {
		if diff := cmp.Diff(tc.want, at(tc.pos)); diff != "" {
			t.Errorf("review as of %d (-want +got):\n%s", tc.pos, diff)
		}
	}
	if _, err := m.ReviewAsOf(ctx, newID(), l.head); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("unknown review: %v", err)
	}
	for pos, want := range map[int64]string{0: "", held: "Acme Payments Ltd", corrected: "Acme Payments Ltd", l.head: "Acme Group plc"} {
		if got, err := m.OrgNameAsOf(ctx, pos); err != nil || got != want {
			t.Errorf("organisation as of %d = %q, %v; want %q", pos, got, err, want)
		}
	}

	records := func(after, until int64) []string {
		t.Helper()
		cs, err := m.ReviewRecordChanges(ctx, after, until)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range cs {
			out = append(out, c.Type+"/"+c.Title+"/"+c.Reason+"/"+strings.Join(c.Changes.Fields(domain.ReviewFields), ","))
		}
		return out
	}
	if got := records(0, held); len(got) != 0 {
		t.Errorf("record changes up to the review = %v, want none (held is not a change)", got)
	}
	if diff := cmp.Diff([]string{"management_review.corrected/Q1 (amended)/Minutes amended./title,actions",
		"management_review.voided/Q1 (amended)/Recorded twice./status"}, records(held, l.head)); diff != "" {
		t.Errorf("record changes (-want +got):\n%s", diff)
	}
	if got := records(corrected, l.head); len(got) != 1 {
		t.Errorf("record changes after the correction = %v", got)
	}

	history := func() [][]any {
		t.Helper()
		var out [][]any
		for _, q := range []string{`SELECT id, position, version, title, status, updated_at FROM review_history ORDER BY id, position`,
			`SELECT name, position, 0, value, '', '' FROM settings_history ORDER BY name, position`} {
			rows, err := m.db.Query(q)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				r := make([]any, 6)
				var a, d, e, f string
				var b, c int64
				if err := rows.Scan(&a, &b, &c, &d, &e, &f); err != nil {
					t.Fatal(err)
				}
				r[0], r[1], r[2], r[3], r[4], r[5] = a, b, c, d, e, f
				out = append(out, r)
			}
			rows.Close()
		}
		return out
	}
	before, tables := history(), dumpTables(t, m.db)
	if len(before) != 5 {
		t.Errorf("history has %d rows, want 3 of the review and 2 of the settings", len(before))
	}
	if err := m.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, history()); diff != "" {
		t.Errorf("rebuilt history differs (-live +rebuilt):\n%s", diff)
	}
	if diff := cmp.Diff(tables, dumpTables(t, m.db)); diff != "" {
		t.Errorf("rebuild differs (-live +rebuilt):\n%s", diff)
	}
}
