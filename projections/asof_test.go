package projections

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/partyledger/partyledger/domain"
)

// moment is what the live read model answered at one point of a test.
type moment struct {
	position int64
	last     time.Time // time of the last event
	register map[string][]PartyView
	party    map[string]PartyView
}

// randomLife drives a register through n random commands (identify, revise,
// rename, reparent, retire, requirements and their revisions, decisions and
// retirements, reviews), calling step after each.
func randomLife(l *ledger, rng *rand.Rand, n int, step func()) {
	var active []domain.PartyID
	reqs := map[domain.PartyID][]domain.RequirementID{}
	names := 0
	name := func() string { names++; return fmt.Sprintf("Party %03d", names) }
	cats := []string{"customer", "supplier", "regulator", "employee", "partner"}
	scopes := []string{"internal", "external"}
	pick := func() domain.PartyID { return active[rng.IntN(len(active))] }
	for i := 0; i < n; i++ {
		switch op := rng.IntN(10); {
		case op < 2 || len(active) < 2:
			var parent domain.PartyID
			if len(active) > 0 && rng.IntN(3) == 0 {
				parent = pick()
			}
			active = append(active, l.identify(name(), cats[rng.IntN(len(cats))], scopes[rng.IntN(2)], parent))
		case op == 2:
			l.revise(domain.ReviseParty{PartyID: pick(), Name: ptr(name()), Influence: ptr(1 + rng.IntN(5)),
				Scope: ptr(scopes[rng.IntN(2)])})
		case op == 3 && len(active) > 3:
			j := rng.IntN(len(active))
			id := active[j]
			// A parent cannot retire while an active party names it.
			busy := false
			for _, o := range active {
				if p := l.parties[o]; p.ParentID != nil && *p.ParentID == id {
					busy = true
				}
			}
			if busy {
				l.revise(domain.ReviseParty{PartyID: id, Owner: ptr(name())})
				break
			}
			l.retire(id)
			active = slices.Delete(active, j, j+1)
		case op <= 5:
			id := pick()
			reqs[id] = append(reqs[id], l.requirement(id, []string{"requirement", "expectation"}[rng.IntN(2)], name()))
		case op == 6 || op == 7:
			id := pick()
			if len(reqs[id]) == 0 {
				l.revise(domain.ReviseParty{PartyID: id, Interest: ptr(1 + (l.parties[id].Interest % 5))})
				break
			}
			rid := reqs[id][rng.IntN(len(reqs[id]))]
			if rng.IntN(2) == 0 {
				l.reviseRequirement(domain.ReviseRequirement{PartyID: id, RequirementID: rid,
					Title: ptr(name()), Priority: ptr([]string{"low", "medium", "high", "critical"}[rng.IntN(4)])})
			} else {
				l.decide(domain.DecideAddressing{PartyID: id, RequirementID: rid, Addressed: ptr(rng.IntN(2) == 0),
					Rationale: name(), Controls: []string{"A.5.19"}[:rng.IntN(2)]})
			}
		case op == 8:
			id := pick()
			if len(reqs[id]) == 0 {
				l.review(name())
				break
			}
			j := rng.IntN(len(reqs[id]))
			l.retireRequirement(id, reqs[id][j])
			reqs[id] = slices.Delete(reqs[id], j, j+1)
		default:
			l.review(name())
		}
		step()
	}
}

// TestAsOfEqualsLive captures the live register after every command and
// checks that the register folded from the log as of that moment, by
// position and by time, is exactly what the live projection answered then.
func TestAsOfEqualsLive(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	live := MustOpenReadModel(t, store)
	MustRun(t, live)
	l := newLedger(t, store)
	rng := rand.New(rand.NewPCG(3, 27))

	var moments []moment
	everyParty := map[string]bool{}
	capture := func() {
		MustWait(t, live, l.head)
		mo := moment{position: l.head, last: l.now.Add(-time.Minute),
			register: map[string][]PartyView{}, party: map[string]PartyView{}}
		for name, f := range filters {
			r, err := live.Register(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			mo.register[name] = r
		}
		all, err := live.Parties(ctx, PartyFilter{Status: StatusAll})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range all {
			everyParty[p.ID] = true
			if mo.party[p.ID], err = live.Party(ctx, p.ID); err != nil {
				t.Fatal(err)
			}
		}
		moments = append(moments, mo)
	}
	randomLife(l, rng, 80, capture)

	// The cache keeps a snapshot every 7 positions, at most 5: moments in
	// random order, twice, hit, miss and evict.
	cache := &SnapshotCache{ReadModel: live, Every: 7, Max: 5}
	order := rng.Perm(len(moments))
	order = append(order, rng.Perm(len(moments))...)
	for _, i := range order {
		mo := moments[i]
		for _, at := range []AsOf{{Position: mo.position}, {Time: mo.last}, {Time: mo.last.Add(30 * time.Second)}} {
			for name, f := range filters {
				got, err := cache.RegisterAsOf(ctx, at, f)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(mo.register[name], got); diff != "" {
					t.Fatalf("cached register %s as of %s differs from the live one (-live +as_of):\n%s", name, at, diff)
				}
			}
		}
	}
	if n := len(cache.snaps); n == 0 || n > 5 {
		t.Fatalf("the cache holds %d snapshots", n)
	}
	// Concurrent queries share snapshots (copy on write): none sees
	// another's changes.
	shared := &SnapshotCache{ReadModel: live, Every: 5, Max: 4}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 1))
			for k := 0; k < 40; k++ {
				mo := moments[r.IntN(len(moments))]
				got, err := shared.RegisterAsOf(ctx, AsOf{Position: mo.position}, PartyFilter{Status: StatusAll})
				if err != nil {
					errs <- err.Error()
					return
				}
				if diff := cmp.Diff(mo.register["all"], got); diff != "" {
					errs <- fmt.Sprintf("concurrent as of %d (-live +as_of):\n%s", mo.position, diff)
					return
				}
			}
		}(uint64(g))
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}

	for _, mo := range moments {
		for _, at := range []AsOf{{Position: mo.position}, {Time: mo.last}, {Time: mo.last.Add(30 * time.Second)}} {
			for name, f := range filters {
				got, err := live.RegisterAsOf(ctx, at, f)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(mo.register[name], got); diff != "" {
					t.Fatalf("register %s as of %s differs from the live one (-live +as_of):\n%s", name, at, diff)
				}
			}
			for id := range everyParty {
				got, err := live.PartyAsOf(ctx, at, id)
				want, existed := mo.party[id]
				if !existed {
					if domain.ErrorCode(err) != domain.ENOTFOUND {
						t.Fatalf("party %s as of %s, before it existed: err %v, want ENOTFOUND", id, at, err)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("party %s as of %s differs from the live one (-live +as_of):\n%s", id, at, diff)
				}
			}
		}
	}
	if len(moments) != 80 {
		t.Fatalf("captured %d moments", len(moments))
	}

	// Before the first event the register is empty.
	for _, at := range []AsOf{{Position: 0}, {Time: t0.Add(-time.Second)}} {
		got, err := live.RegisterAsOf(ctx, at, PartyFilter{Status: StatusAll})
		if err != nil || len(got) != 0 {
			t.Fatalf("as of %s: %d parties, err %v; want none", at, len(got), err)
		}
	}
	// A bad filter is refused as the live register refuses it.
	if _, err := live.RegisterAsOf(ctx, AsOf{Position: 3}, PartyFilter{Status: "gone"}); domain.ErrorCode(err) != domain.EINVALID {
		t.Fatalf("bad filter: %v", err)
	}
}

// TestFoldRegisterWithoutReadModel checks the read-model-free fold (the
// CLI's) against the live register at the head.
func TestFoldRegisterWithoutReadModel(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	live := MustOpenReadModel(t, store)
	MustRun(t, live)
	l := newLedger(t, store)
	randomLife(l, rand.New(rand.NewPCG(9, 9)), 60, func() {})
	MustWait(t, live, l.head)
	s, err := FoldRegister(ctx, store, AsOf{Position: l.head}, l.head)
	if err != nil {
		t.Fatal(err)
	}
	if s.Position != l.head && l.parties != nil {
		// The last event may be a review, which the fold skips.
		if s.Position > l.head {
			t.Fatalf("fold position %d beyond head %d", s.Position, l.head)
		}
	}
	for name, f := range filters {
		want, err := live.Register(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Register(f)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("register %s (-live +fold):\n%s", name, diff)
		}
	}
}

func TestParseAsOf(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want AsOf
		ok   bool
	}{
		{"position:0", AsOf{}, true},
		{"position:42", AsOf{Position: 42}, true},
		{"2026-03-02T09:30:00Z", AsOf{Time: t0.Add(30 * time.Minute)}, true},
		{"time:2026-03-02T10:30:00+01:00", AsOf{Time: t0.Add(30 * time.Minute)}, true},
		{"2026-03-02T09:30:00.5Z", AsOf{Time: t0.Add(30*time.Minute + 500*time.Millisecond)}, true},
		{"position:-1", AsOf{}, false},
		{"position:x", AsOf{}, false},
		{"yesterday", AsOf{}, false},
		{"", AsOf{}, false},
	} {
		got, err := ParseAsOf("as_of", tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseAsOf(%q): err %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if err != nil {
			var de *domain.Error
			if !errors.As(err, &de) || de.Code != domain.EINVALID || len(de.Fields) != 1 || de.Fields[0].Field != "as_of" {
				t.Errorf("ParseAsOf(%q): error %#v", tc.in, err)
			}
			continue
		}
		if !got.Time.Equal(tc.want.Time) || got.Position != tc.want.Position {
			t.Errorf("ParseAsOf(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}
