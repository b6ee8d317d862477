package demo_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/eventstore/sqlite"
	"github.com/partyledger/partyledger/handlers/commands"
	"github.com/partyledger/partyledger/handlers/demo"
	"github.com/partyledger/partyledger/projections"
)

// env is a real event store, read model and service on temporary files.
type env struct {
	store *sqlite.Store
	rm    *projections.ReadModel
	svc   *commands.Service
}

func newEnv(t *testing.T, now time.Time) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"), sqlite.Options{Synchronous: sqlite.SynchronousNormal})
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.OpenDB(filepath.Join(dir, "read.db"), sqlite.WithSynchronous(sqlite.SynchronousNormal))
	if err != nil {
		t.Fatal(err)
	}
	rm, err := projections.Open(ctx, db, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- rm.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("read model stopped: %v", err)
		}
		if err := store.Close(); err != nil {
			t.Error(err)
		}
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return &env{store: store, rm: rm,
		svc: &commands.Service{Store: store, Reads: rm, Now: func() time.Time { return now }}}
}

var clock = time.Date(2026, 6, 15, 9, 30, 0, 0, time.UTC)

func TestLoad(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, clock)

	var lines int
	sum, err := demo.Load(ctx, e.svc, "demo@northwind.example", func(string) { lines++ })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("summary: %+v", sum)
	if lines != sum.Commands {
		t.Errorf("progress called %d times for %d commands", lines, sum.Commands)
	}
	if n := mustCountRegisterEvents(t, e.store); sum.Events != n {
		t.Errorf("summary counts %d events, the log holds %d (besides name reservations)", sum.Events, n)
	}

	// The register.
	reg, err := e.rm.Register(ctx, projections.PartyFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(reg) < 10 {
		t.Errorf("register has %d active parties, want at least 10", len(reg))
	}
	if len(reg) != sum.Parties-sum.PartiesRetired {
		t.Errorf("register has %d active parties, summary says %d identified and %d retired", len(reg), sum.Parties, sum.PartiesRetired)
	}
	scopes := map[string]int{}
	reqs := 0
	var past, future, undecided, notAddressed int
	byID := map[string]projections.PartyView{}
	for _, p := range reg {
		byID[p.ID] = p
		scopes[p.Scope]++
		reqs += len(p.Requirements)
		for _, r := range p.Requirements {
			if r.Status != domain.StatusActive {
				t.Errorf("register lists %s requirement %q", r.Status, r.Title)
			}
			switch {
			case r.ReviewDue == nil:
				t.Errorf("requirement %q has no review date", r.Title)
			case *r.ReviewDue < clock.Format(domain.DateLayout):
				past++
			case *r.ReviewDue >= "2027-01-01":
				future++
			}
			switch {
			case r.Addressed == nil:
				undecided++
			case !*r.Addressed:
				notAddressed++
				if r.Rationale == "" {
					t.Errorf("requirement %q is not addressed and has no rationale", r.Title)
				}
			case len(r.Controls) == 0 || r.Treatment == "":
				t.Errorf("requirement %q is addressed without treatment or controls", r.Title)
			}
		}
	}
	if scopes["internal"] == 0 || scopes["external"] == 0 {
		t.Errorf("parties by scope: %v, want both internal and external", scopes)
	}
	if reqs < 30 {
		t.Errorf("register has %d active requirements, want at least 30", reqs)
	}
	if past == 0 || future == 0 || undecided == 0 || notAddressed == 0 {
		t.Errorf("review due in the past %d, in 2027+ %d; undecided %d, not addressed %d: want each > 0", past, future, undecided, notAddressed)
	}
	t.Logf("parties %v, active requirements %d (review past due %d, due 2027+ %d, undecided %d, not addressed %d)",
		scopes, reqs, past, future, undecided, notAddressed)

	cust, ok := byID[string(demo.PartyID(demo.PartyCustomers))]
	if !ok || cust.Name != "Customers" {
		t.Fatalf("no customers party with id %s", demo.PartyID(demo.PartyCustomers))
	}
	gov, ok := byID[string(demo.PartyID(demo.PartyGovernmentCustomers))]
	if !ok {
		t.Fatalf("no government customers party with id %s", demo.PartyID(demo.PartyGovernmentCustomers))
	}
	if gov.Category != "government_customer" || gov.ParentID == nil || *gov.ParentID != cust.ID {
		t.Errorf("government customers: category %q, parent %v; want government_customer under %s", gov.Category, gov.ParentID, cust.ID)
	}
	if _, ok := byID[string(demo.PartyID("payflow"))]; ok {
		t.Error("the retired supplier is still in the active register")
	}

	// The review and the changes since it.
	reviews, err := e.rm.Reviews(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(reviews) < 1 || sum.Reviews != len(reviews) {
		t.Fatalf("%d reviews recorded, summary says %d", len(reviews), sum.Reviews)
	}
	last, ok, err := e.rm.LastReview(ctx)
	if err != nil || !ok {
		t.Fatalf("last review: %v, %v", ok, err)
	}
	if last.ID != string(demo.ReviewID(demo.ReviewKey)) || last.HeldOn != demo.ReviewHeldOn || last.ID != sum.ReviewID || last.Position != sum.ReviewPosition {
		t.Errorf("last review %s held on %s at %d; summary %s at %d", last.ID, last.HeldOn, last.Position, sum.ReviewID, sum.ReviewPosition)
	}
	changes, err := e.rm.Changes(ctx, projections.Window{After: last.Position})
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) == 0 || len(changes) != sum.ChangesAfterReview {
		t.Fatalf("%d changes since the last review, summary says %d", len(changes), sum.ChangesAfterReview)
	}
	triggers := map[string]int{}
	for _, c := range changes {
		triggers[c.Trigger]++
		if c.Reason == "" || c.Actor != "demo@northwind.example" {
			t.Errorf("change at %d: actor %q, reason %q", c.Position, c.Actor, c.Reason)
		}
	}
	for _, want := range []string{"regulatory_change", "contract_change", "incident", "customer_feedback",
		"periodic_review", "risk_assessment", "audit_finding", "management_review"} {
		if triggers[want] == 0 {
			t.Errorf("no change since the review triggered by %s; triggers: %v", want, triggers)
		}
	}
	kinds := map[string]bool{}
	for _, c := range changes {
		kinds[c.Change] = true
	}
	for _, want := range []string{projections.ChangePartyAdded, projections.ChangePartyRevised, projections.ChangePartyRetired,
		projections.ChangeRequirementAdded, projections.ChangeRequirementRevised,
		projections.ChangeRequirementAddressingDecided, projections.ChangeRequirementRetired} {
		if !kinds[want] {
			t.Errorf("no %s change since the review", want)
		}
	}
	if net := projections.NetChanges(changes); len(net) == 0 {
		t.Error("net change feed is empty")
	}
	t.Logf("%d changes since the review %s, triggers %v", len(changes), last.HeldOn, triggers)
}

// The ids are derived, not random: the same on every run and in every
// store.
func TestDeterministicIDs(t *testing.T) {
	if got, again := demo.PartyID("customers"), demo.PartyID("customers"); got != again || !domain.ValidID(string(got)) {
		t.Fatalf("PartyID: %s then %s", got, again)
	}
	ids := []string{string(demo.PartyID("x")), string(demo.RequirementID("x")), string(demo.ReviewID("x"))}
	slices.Sort(ids)
	if len(slices.Compact(ids)) != 3 {
		t.Error("party, requirement and review ids of one key collide")
	}
}

func TestLoadTwice(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, clock)
	if _, err := demo.Load(ctx, e.svc, "demo", nil); err != nil {
		t.Fatal(err)
	}
	before, _, _ := e.store.Head(ctx)
	sum, err := demo.Load(ctx, e.svc, "demo", nil)
	if !errors.Is(err, demo.ErrAlreadyLoaded) {
		t.Fatalf("second load: %v, want ErrAlreadyLoaded", err)
	}
	after, _, _ := e.store.Head(ctx)
	if after != before || sum.Commands != 0 {
		t.Errorf("second load wrote %d events in %d commands", after-before, sum.Commands)
	}
}

// A clock before the review date: the domain refuses a review in the future.
func TestLoadBeforeReviewDate(t *testing.T) {
	e := newEnv(t, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	_, err := demo.Load(context.Background(), e.svc, "demo", nil)
	if domain.ErrorCode(err) != domain.EINVALID {
		t.Fatalf("load with the clock before %s: %v, want an invalid-input error", demo.ReviewHeldOn, err)
	}
}

func TestLoadNeedsActor(t *testing.T) {
	e := newEnv(t, clock)
	_, err := demo.Load(context.Background(), e.svc, "", nil)
	if domain.ErrorCode(err) != domain.EINVALID {
		t.Fatalf("load without actor: %v, want an invalid-input error", err)
	}
}

// mustCountRegisterEvents counts the events of the log that are not
// internal bookkeeping (name reservations).
func mustCountRegisterEvents(tb testing.TB, store eventstore.Store) int {
	tb.Helper()
	all, err := store.ReadAll(context.Background(), 0, 1<<20)
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for _, ev := range all {
		if !domain.IsInternalEvent(ev.Type) {
			n++
		}
	}
	return n
}
