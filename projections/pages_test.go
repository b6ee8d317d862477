package projections

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPagesEqualWholeLists checks that walking any list page by page gives
// exactly the unpaged list: parties, register, detailed feed, and the net
// view (whose pages are computed from the whole window).
func TestPagesEqualWholeLists(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	m := MustOpenReadModel(t, store)
	MustRun(t, m)
	l := newLedger(t, store)
	scenario(l, func() {})
	l.review("Q1")
	for _, n := range []string{"Zeta", "alpha", "Beta", "beta two"} {
		id := l.identify(n, "partner", "internal", "")
		l.requirement(id, "expectation", "Keep "+n+" informed")
	}
	MustWait(t, m, l.head)

	for _, f := range []PartyFilter{{}, {Status: StatusAll}, {Scope: "external"}} {
		wantParties, err := m.Parties(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		wantRegister, err := m.Register(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, limit := range []int{1, 2, 3, 100} {
			var got []PartyView
			pg := Page{Limit: limit}
			for i := 0; ; i++ {
				next, err := m.EachParty(ctx, f, pg, func(p PartyView) error { got = append(got, p); return nil })
				if err != nil {
					t.Fatal(err)
				}
				if next.IsZero() || i > 100 {
					break
				}
				if pg.After, err = ParseCursor(next.String()); err != nil {
					t.Fatal(err)
				}
			}
			if diff := cmp.Diff(wantParties, got); diff != "" {
				t.Errorf("parties %+v limit %d (-whole +pages):\n%s", f, limit, diff)
			}
			got, pg = nil, Page{Limit: limit}
			for i := 0; ; i++ {
				next, err := m.EachRegisterParty(ctx, f, pg, func(p PartyView) error { got = append(got, p); return nil })
				if err != nil {
					t.Fatal(err)
				}
				if next.IsZero() || i > 100 {
					break
				}
				pg.After = next
			}
			if diff := cmp.Diff(wantRegister, got); diff != "" {
				t.Errorf("register %+v limit %d (-whole +pages):\n%s", f, limit, diff)
			}
			// The folded register pages alike.
			got = nil
			for pg := (Page{Limit: limit}); ; {
				page, next := PageRegister(wantRegister, pg)
				got = append(got, page...)
				if next.IsZero() {
					break
				}
				pg.After = next
			}
			if diff := cmp.Diff(wantRegister, got); diff != "" {
				t.Errorf("PageRegister %+v limit %d (-whole +pages):\n%s", f, limit, diff)
			}
		}
	}

	w := Window{After: 0, Until: l.head}
	items, err := m.Changes(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	wantNet := NetChanges(items)
	if len(wantNet) < 4 {
		t.Fatalf("only %d net items", len(wantNet))
	}
	for _, limit := range []int{1, 3, 1000} {
		var got []NetItem
		offset := 0
		for i := 0; i < 1000; i++ {
			page, next, err := m.NetPage(ctx, w, offset, limit)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, page...)
			if next == 0 {
				break
			}
			offset = next
		}
		if diff := cmp.Diff(wantNet, got); diff != "" {
			t.Errorf("net pages of %d (-whole +pages):\n%s", limit, diff)
		}
	}
}

func TestParseCursorRefusesJunk(t *testing.T) {
	for _, s := range []string{"x", "W10", "WzEsImEiXQ", "WzIsImEiLCJiIl0", "WzAsImEiLCIiXQ"} {
		if _, err := ParseCursor(s); err == nil {
			t.Errorf("ParseCursor(%q) accepted", s)
		}
	}
	c := Cursor{Rank: 1, NameKey: "acme", ID: "x"}
	if got, err := ParseCursor(c.String()); err != nil || got != c {
		t.Fatalf("round trip %+v: %+v %v", c, got, err)
	}
}
