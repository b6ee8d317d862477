package commands_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/handlers/commands"
)

func hold(heldOn string, actions ...domain.ActionInput) domain.HoldManagementReview {
	return domain.HoldManagementReview{Meta: meta, HeldOn: heldOn, Title: "Review", Actions: actions}
}

func reviewIDOf(res commands.Result) domain.ReviewID {
	return domain.ReviewID(strings.TrimPrefix(res.Stream, domain.ReviewStreamPrefix))
}

// concurrently runs n calls of f at once and returns their errors.
func concurrently(n int, f func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// winners counts nil errors and fails the test on any error other than
// ECONFLICT.
func winners(t *testing.T, what string, errs []error) int {
	t.Helper()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case domain.ErrorCode(err) != domain.ECONFLICT:
			t.Errorf("%s: %v (code %q), want success or ECONFLICT", what, err, domain.ErrorCode(err))
		}
	}
	return ok
}

func streamLen(t *testing.T, store eventstore.Store, stream string) int {
	t.Helper()
	evs, err := store.ReadStream(context.Background(), stream, 1)
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

// TestConcurrentHoldsChainWindows: reviews recorded at the same time, with
// the default window, are ordered by the review sequence (data in the same
// atomic append, no lock): every one is recorded, and each window starts
// where the one before it ended, as if they had been recorded one by one.
func TestConcurrentHoldsChainWindows(t *testing.T) {
	svc, store := MustOpenService(t)
	holdsChain(t, store, svc)
}

// TestConcurrentHoldsChainWindowsJetStream: the same across two processes'
// worth of services on one NATS JetStream, where no lock of one process
// could have ordered them.
func TestConcurrentHoldsChainWindowsJetStream(t *testing.T) {
	svcs := MustOpenJetStreamServices(t, 2)
	holdsChain(t, svcs[0].Store, svcs...)
}

// holdsChain records reviews at once, spread over svcs, and checks that
// their windows chain.
func holdsChain(t *testing.T, store eventstore.Store, svcs ...*commands.Service) {
	t.Helper()
	ctx := context.Background()
	svc := svcs[0]
	if _, err := svc.IdentifyParty(ctx, identify("Acme Bank")); err != nil {
		t.Fatal(err)
	}
	const n = 6
	ids := make([]domain.ReviewID, n)
	errs := concurrently(n, func(i int) error {
		res, err := svcs[i%len(svcs)].HoldManagementReview(ctx, hold("2026-06-15"))
		ids[i] = reviewIDOf(res)
		return err
	})
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent hold: %v", err)
		}
	}
	type window struct{ from, to int64 }
	var ws []window
	for _, id := range ids {
		r, err := svc.LoadReview(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, window{*r.ConsideredFrom, *r.ConsideredTo})
	}
	slices.SortFunc(ws, func(a, b window) int { return int(a.from - b.from) })
	if ws[0].from != 0 {
		t.Errorf("first window starts at %d, want 0", ws[0].from)
	}
	for i := 1; i < n; i++ {
		if ws[i].from != ws[i-1].to || ws[i].from > ws[i].to {
			t.Errorf("windows %v: window %d does not start where the one before ended", ws, i)
		}
	}
	if got := streamLen(t, store, domain.ReviewSequenceStream); got != n {
		t.Errorf("review sequence holds %d events, want %d (one per review)", got, n)
	}
}

// TestHoldDecidedAgainAfterConcurrentHold: a review recorded between
// another's decision and its append makes that append fail on the review
// sequence; the command is decided again on what the first recorded, so
// its window starts where the first one's ended.
func TestHoldDecidedAgainAfterConcurrentHold(t *testing.T) {
	ctx := context.Background()
	a, store := MustOpenService(t)
	if _, err := a.IdentifyParty(ctx, identify("Acme Bank")); err != nil {
		t.Fatal(err)
	}
	var first commands.Result
	hooked := &commands.Service{Store: &appendHook{Store: store, before: func() {
		var err error
		if first, err = a.HoldManagementReview(ctx, hold("2026-06-14")); err != nil {
			t.Errorf("the concurrent hold: %v", err)
		}
	}}, Reads: a.Reads, Now: a.Now}
	res, err := hooked.HoldManagementReview(ctx, hold("2026-06-15"))
	if err != nil {
		t.Fatalf("hold racing another: %v", err)
	}
	r1, _ := a.LoadReview(ctx, reviewIDOf(first))
	r2, err := a.LoadReview(ctx, reviewIDOf(res))
	if err != nil {
		t.Fatal(err)
	}
	if *r2.ConsideredFrom != *r1.ConsideredTo || *r1.ConsideredFrom != 0 {
		t.Errorf("windows [%d, %d] then [%d, %d]: the second must start where the first ended",
			*r1.ConsideredFrom, *r1.ConsideredTo, *r2.ConsideredFrom, *r2.ConsideredTo)
	}
}

// TestConcurrentReviewOutputs: concurrent corrections, voids and action
// completions on one review give one winner and ECONFLICT (409) for the
// others, and nothing half-written: each stream holds exactly the winners'
// events.
func TestConcurrentReviewOutputs(t *testing.T) {
	ctx := context.Background()
	svc, store := MustOpenService(t)
	res, err := svc.HoldManagementReview(ctx, hold("2026-06-15", domain.ActionInput{Title: "Fix it", Owner: "CISO", DueOn: "2026-09-01"}))
	if err != nil {
		t.Fatal(err)
	}
	id := reviewIDOf(res)
	r, err := svc.LoadReview(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	action := r.Actions[0].ActionID
	const n = 8

	// Two corrections decided on one version: the second append is refused.
	other := "corrected meanwhile"
	hooked := &commands.Service{Store: &appendHook{Store: store, before: func() {
		if _, err := svc.CorrectManagementReview(ctx, domain.CorrectManagementReview{Meta: meta, ReviewID: id, Notes: &other}, nil); err != nil {
			t.Errorf("the concurrent correction: %v", err)
		}
	}}, Reads: svc.Reads, Now: svc.Now}
	mine := "corrected by the loser"
	if _, err := hooked.CorrectManagementReview(ctx, domain.CorrectManagementReview{Meta: meta, ReviewID: id, Notes: &mine}, nil); domain.ErrorCode(err) != domain.ECONFLICT {
		t.Fatalf("a correction racing another: %v, want ECONFLICT", err)
	}
	if r, _ := svc.LoadReview(ctx, id); r.Notes != other || r.Version != 2 {
		t.Errorf("after two racing corrections: notes %q at version %d; want the winner's %q at 2", r.Notes, r.Version, other)
	}

	// Many corrections at once: each lands or is refused whole.
	errs := concurrently(n, func(i int) error {
		notes := strings.Repeat("x", i+1)
		_, err := svc.CorrectManagementReview(ctx, domain.CorrectManagementReview{Meta: meta, ReviewID: id, Notes: &notes}, nil)
		return err
	})
	ok := winners(t, "concurrent corrections", errs)
	if ok < 1 {
		t.Errorf("concurrent corrections: none landed")
	}
	if got := streamLen(t, store, id.Stream()); got != 2+ok {
		t.Errorf("review stream holds %d events after %d corrections landed, want %d", got, ok, 2+ok)
	}

	// Completions of one action: exactly one.
	errs = concurrently(n, func(int) error {
		_, err := svc.CompleteAction(ctx, domain.CompleteAction{Meta: meta, ReviewID: id, ActionID: action, Evidence: "done"})
		return err
	})
	if ok := winners(t, "concurrent completions", errs); ok != 1 {
		t.Errorf("concurrent completions of one action: %d landed, want 1", ok)
	}
	if got := streamLen(t, store, action.Stream()); got != 1 {
		t.Errorf("action stream holds %d events, want 1", got)
	}

	// Voids: exactly one.
	before := streamLen(t, store, id.Stream())
	errs = concurrently(n, func(int) error {
		_, err := svc.VoidManagementReview(ctx, domain.VoidManagementReview{Meta: meta, ReviewID: id}, nil)
		return err
	})
	if ok := winners(t, "concurrent voids", errs); ok != 1 {
		t.Errorf("concurrent voids: %d landed, want 1", ok)
	}
	if got := streamLen(t, store, id.Stream()); got != before+1 {
		t.Errorf("review stream holds %d events after the voids, want %d", got, before+1)
	}
}
