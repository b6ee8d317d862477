package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// auditLog writes a register's life, then events of a type this code does
// not know (some naming requirements, some in party streams), by several
// actors and triggers, some stamped earlier than the events before them.
// It returns every event of the log.
func auditLog(t *testing.T, store eventstore.Store, l *ledger, rng *rand.Rand) []eventstore.Event {
	t.Helper()
	ctx := context.Background()
	randomLife(l, rng, 120, func() {})
	all, err := store.ReadAll(ctx, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var reqs []string
	for i := range all {
		if _, r := AuditKeys(&all[i]); r != "" && !slices.Contains(reqs, r) {
			reqs = append(reqs, r)
		}
	}
	var parties []domain.PartyID
	for id := range l.parties {
		parties = append(parties, id)
	}
	slices.Sort(parties)
	actors := []string{"bob", "carol", "dave"}
	triggers := []string{"incident", "audit_finding", "other"}
	for i := 0; i < 150; i++ {
		at := l.now
		if rng.IntN(6) == 0 {
			at = l.now.Add(-time.Duration(1+rng.IntN(120)) * time.Minute) // late
		} else {
			l.now = l.now.Add(time.Duration(rng.IntN(3)) * time.Minute)
		}
		data := map[string]any{"n": i}
		if rng.IntN(2) == 0 {
			data["requirement_id"] = reqs[rng.IntN(len(reqs))]
		}
		stream := fmt.Sprintf("objective-%d", rng.IntN(5))
		if i > 140 {
			stream = parties[rng.IntN(len(parties))].Stream()
		}
		b, _ := json.Marshal(data)
		ev := eventstore.Event{ID: newID(), Type: []string{"objective.set", "kpi.measured"}[rng.IntN(2)],
			Schema: 1, Time: at, Actor: actors[rng.IntN(len(actors))], Reason: "r",
			Trigger: triggers[rng.IntN(len(triggers))], Data: b}
		stored, err := store.Append(ctx, stream, eventstore.AnyVersion, []eventstore.Event{ev})
		if err != nil {
			t.Fatal(err)
		}
		l.head = stored[0].Position
	}
	all, err = store.ReadAll(ctx, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// TestEventPositionsMatchScan pages through random filters with the index
// and checks each against a scan of the whole log with EventFilter.Matches.
func TestEventPositionsMatchScan(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	m := MustOpenReadModel(t, store)
	MustRun(t, m)
	rng := rand.New(rand.NewPCG(1, 2))
	l := newLedger(t, store)
	all := auditLog(t, store, l, rng)
	MustWait(t, m, l.head)

	pickEv := func() *eventstore.Event { return &all[rng.IntN(len(all))] }
	late := 0
	for i := 1; i < len(all); i++ {
		if all[i].Time.Before(all[i-1].Time) {
			late++
		}
	}
	if late < 10 {
		t.Fatalf("only %d late events: the test would not exercise them", late)
	}
	for n := 0; n < 400; n++ {
		var f EventFilter
		for k := rng.IntN(3); k >= 0; k-- {
			ev := pickEv()
			switch rng.IntN(8) {
			case 0:
				f.Party, _ = AuditKeys(ev)
			case 1:
				_, f.Requirement = AuditKeys(ev)
			case 2:
				f.Stream = ev.Stream
			case 3:
				f.Type = ev.Type
			case 4:
				f.Actor = ev.Actor
			case 5:
				f.Trigger = ev.Trigger
			case 6:
				f.From = ev.Time.Add(time.Duration(rng.IntN(3)-1) * time.Second)
			case 7:
				f.To = ev.Time.Add(time.Duration(rng.IntN(3)-1) * time.Second)
			}
		}
		if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
			f.From, f.To = f.To, f.From
		}
		f.After = int64(rng.IntN(20))
		var want []int64
		for i := range all {
			if all[i].Position > f.After && f.Matches(&all[i]) {
				want = append(want, all[i].Position)
			}
		}
		var got []int64
		page := f
		page.Limit = 1 + rng.IntN(7)
		for pages := 0; ; pages++ {
			ps, more, err := m.EventPositions(ctx, page)
			if err != nil {
				t.Fatalf("filter %+v: %v", page, err)
			}
			got = append(got, ps...)
			if more != (len(ps) == page.Limit && len(got) < len(want)) {
				t.Fatalf("filter %+v: more = %v after %d of %d", page, more, len(got), len(want))
			}
			if !more {
				break
			}
			page.After = ps[len(ps)-1]
			if pages > len(all) {
				t.Fatal("paging does not end")
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("filter %+v: index differs from scan (-scan +index):\n%s", f, diff)
		}
	}

	// PositionAt is the last position stamped at or before t.
	for n := 0; n < 100; n++ {
		at := pickEv().Time.Add(time.Duration(rng.IntN(3)-1) * time.Second)
		var want int64
		for i := range all {
			if !all[i].Time.After(at) {
				want = all[i].Position
			}
		}
		got, err := m.PositionAt(ctx, at)
		if err != nil || got != want {
			t.Fatalf("PositionAt(%s) = %d, %v; want %d", at, got, err, want)
		}
	}
}

func TestEventFilterValidate(t *testing.T) {
	for _, tc := range []struct {
		f     EventFilter
		field string
	}{
		{EventFilter{Limit: MaxEventLimit + 1}, "limit"},
		{EventFilter{Limit: -1}, "limit"},
		{EventFilter{After: -1}, "after"},
		{EventFilter{From: t0, To: t0.Add(-time.Second)}, "to"},
	} {
		err := tc.f.Validate()
		de, ok := err.(*domain.Error)
		if !ok || de.Code != domain.EINVALID || len(de.Fields) != 1 || de.Fields[0].Field != tc.field {
			t.Errorf("Validate(%+v) = %v, want EINVALID on %s", tc.f, err, tc.field)
		}
	}
	if err := (EventFilter{Limit: MaxEventLimit, From: t0, To: t0}).Validate(); err != nil {
		t.Errorf("valid filter refused: %v", err)
	}
}

// TestHistory checks a party's history (its own and its requirements'
// changes, identification first) and a requirement's.
func TestHistory(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	m := MustOpenReadModel(t, store)
	MustRun(t, m)
	l := newLedger(t, store)
	customers, acme, _ := scenario(l, func() {})
	MustWait(t, m, l.head)

	all, err := m.Changes(ctx, Window{})
	if err != nil {
		t.Fatal(err)
	}
	for _, pid := range []domain.PartyID{customers, acme} {
		var want []ChangeItem
		reqs := map[string][]ChangeItem{}
		for _, it := range all {
			if it.Party.ID == string(pid) {
				want = append(want, it)
				if it.Requirement != nil {
					reqs[it.Requirement.ID] = append(reqs[it.Requirement.ID], it)
				}
			}
		}
		got, err := m.History(ctx, string(pid), "")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("history of %s (-feed +history):\n%s", pid, diff)
		}
		fromLog, err := HistoryFromLog(ctx, store, string(pid), "")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, fromLog); diff != "" {
			t.Fatalf("history of %s from the log (-feed +log):\n%s", pid, diff)
		}
		if got[0].Type != domain.EventPartyIdentified || len(got[0].Changes) == 0 {
			t.Fatalf("history does not start with the identification: %+v", got[0])
		}
		if len(reqs) == 0 {
			t.Fatalf("party %s has no requirement changes", pid)
		}
		for rid, want := range reqs {
			got, err := m.History(ctx, string(pid), rid)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("history of requirement %s (-feed +history):\n%s", rid, diff)
			}
			fromLog, err := HistoryFromLog(ctx, store, string(pid), rid)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, fromLog); diff != "" {
				t.Fatalf("history of requirement %s from the log (-feed +log):\n%s", rid, diff)
			}
			if got[0].Type != domain.EventRequirementIdentified {
				t.Fatalf("requirement history starts with %s", got[0].Type)
			}
			// A requirement of another party is not found under this one.
			other := customers
			if other == pid {
				other = acme
			}
			if _, err := m.History(ctx, string(other), rid); domain.ErrorCode(err) != domain.ENOTFOUND {
				t.Fatalf("requirement %s under party %s: %v, want ENOTFOUND", rid, other, err)
			}
		}
	}
	if _, err := m.History(ctx, newID(), ""); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("unknown party: %v", err)
	}
	if _, err := HistoryFromLog(ctx, store, newID(), ""); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("unknown party from the log: %v", err)
	}
}

// TestAuditIndexLiveEqualsRebuild checks that the index rows built live in
// small batches equal those of a rebuild from zero.
func TestAuditIndexLiveEqualsRebuild(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	live := MustOpenReadModel(t, store)
	stop := MustRun(t, live)
	l := newLedger(t, store)
	auditLog(t, store, l, rand.New(rand.NewPCG(5, 6)))
	MustWait(t, live, l.head)
	dump := func() [][]any {
		rows, err := live.db.Query(`SELECT * FROM audit_index ORDER BY position`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out [][]any
		for rows.Next() {
			vals := make([]any, 10)
			ptrs := make([]any, 10)
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out = append(out, vals)
		}
		return out
	}
	before := dump()
	if int64(len(before)) != l.head {
		t.Fatalf("%d index rows for %d events", len(before), l.head)
	}
	stop()
	if err := live.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, dump()); diff != "" {
		t.Fatalf("rebuilt index differs (-live +rebuilt):\n%s", diff)
	}
	if cp, err := live.AuditCheckpoint(ctx); err != nil || cp != l.head {
		t.Fatalf("audit checkpoint %d, %v; want %d", cp, err, l.head)
	}
}
