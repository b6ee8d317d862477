package webhooks_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/pipeline"
	"github.com/partyledger/partyledger/handlers/webhooks"
	"github.com/partyledger/partyledger/projections"
)

func TestSubscriptionsLifecycle(t *testing.T) {
	ctx := context.Background()
	e := MustOpenEnv(t, "")
	p := e.newParty(t, "Customers", "customer")

	// Bad input names every field and writes nothing.
	_, _, err := e.subs.Create(ctx, webhooks.NewSubscription{URL: "http://10.0.0.1/",
		Description: strings.Repeat("x", webhooks.MaxDescription+1),
		Filter:      webhooks.Filter{Types: []string{"party.exploded"}, Categories: []string{"aliens"}, PartyIDs: []string{"nope"}, Triggers: []string{"whim"}}})
	var de *domain.Error
	if !errors.As(err, &de) || de.Code != domain.EINVALID {
		t.Fatalf("Create with bad input: %v", err)
	}
	var fields []string
	for _, f := range de.Fields {
		fields = append(fields, f.Field)
	}
	if want := []string{"url", "description", "filter.types", "filter.party_ids", "filter.categories", "filter.triggers"}; !slices.Equal(fields, want) {
		t.Fatalf("fields %v, want %v", fields, want)
	}
	if all := must[[]webhooks.Subscription](t)(e.subs.List(ctx)); len(all) != 0 {
		t.Fatalf("a refused create wrote %d subscriptions", len(all))
	}

	changed := e.subs.Changed()
	sub, secret, err := e.subs.Create(ctx, webhooks.NewSubscription{URL: "http://127.0.0.1:9/hook",
		Description: " DPO inbox ", Actor: "alice",
		Filter: webhooks.Filter{Types: []string{"party.revised", "party.revised", " party.identified"}, PartyIDs: []string{string(p)}}})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	default:
		t.Fatal("Create did not signal a change")
	}
	head, _, _ := e.store.Head(ctx)
	if !strings.HasPrefix(secret, "whsec_") || sub.Status != webhooks.StatusActive || sub.Position != head ||
		sub.Description != "DPO inbox" || sub.CreatedBy != "alice" {
		t.Fatalf("created %+v", sub)
	}
	if want := (webhooks.Filter{Types: []string{"party.identified", "party.revised"}, PartyIDs: []string{string(p)},
		Categories: []string{}, Triggers: []string{}}); !cmp.Equal(sub.Filter, want) {
		t.Fatalf("filter %+v, want %+v", sub.Filter, want)
	}
	got := must[webhooks.Subscription](t)(e.subs.Get(ctx, sub.ID))
	if diff := cmp.Diff(sub, got, cmp.AllowUnexported(webhooks.Subscription{}), cmp.FilterPath(func(p cmp.Path) bool {
		return strings.HasPrefix(p.Last().String(), ".secret") || strings.HasPrefix(p.Last().String(), ".previous")
	}, cmp.Ignore())); diff != "" {
		t.Fatalf("Get differs from Create (-create +get):\n%s", diff)
	}

	// Rotation: the new secret and, for the grace period, the old one sign.
	_, secret2, err := e.subs.RotateSecret(ctx, sub.ID, "alice")
	if err != nil || secret2 == secret {
		t.Fatalf("rotate: %v", err)
	}

	if _, err := e.subs.Redeliver(ctx, sub.ID, "alice", 0); domain.ErrorCode(err) != domain.EINVALID {
		t.Fatalf("redeliver from 0: %v", err)
	}
	red := must[webhooks.Subscription](t)(e.subs.Redeliver(ctx, sub.ID, "alice", 1))
	if red.Position != 0 || red.Generation <= got.Generation {
		t.Fatalf("after redeliver from 1: position %d generation %d", red.Position, red.Generation)
	}
	if err := e.subs.Disable(ctx, sub.ID, "alice", "maintenance"); err != nil {
		t.Fatal(err)
	}
	en := must[webhooks.Subscription](t)(e.subs.Enable(ctx, sub.ID, "bob"))
	if en.Status != webhooks.StatusActive || en.DisabledReason != "" || en.DisabledAt != nil {
		t.Fatalf("after enable: %+v", en)
	}
	for _, id := range []string{"nope", "0193c0de-0000-7000-8000-000000000000"} {
		if _, err := e.subs.Get(ctx, id); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Errorf("Get(%s): %v", id, err)
		}
		if _, err := e.subs.Enable(ctx, id, "x"); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Errorf("Enable(%s): %v", id, err)
		}
		if err := e.subs.Delete(ctx, id, "x"); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Errorf("Delete(%s): %v", id, err)
		}
	}
	if err := e.subs.Delete(ctx, sub.ID, "carol"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.subs.Get(ctx, sub.ID); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("Get after delete: %v", err)
	}
	var kinds []string
	for _, r := range must[[]webhooks.Record](t)(e.subs.History(ctx, sub.ID)) {
		kinds = append(kinds, r.Kind+":"+r.Actor)
	}
	if want := []string{"created:alice", "secret_rotated:alice", "redelivery:alice", "disabled:alice", "enabled:bob", "deleted:carol"}; !slices.Equal(kinds, want) {
		t.Fatalf("history %v, want %v", kinds, want)
	}
}

// TestRotationSignsWithBoth checks that during the grace period a delivery
// carries signatures by the new and the previous secret, so a receiver that
// still has the previous one verifies it.
func TestRotationSignsWithBoth(t *testing.T) {
	rc := newReceiver(t)
	synctest.Test(t, func(t *testing.T) {
		e := MustOpenEnv(t, "")
		sub, oldSecret := e.mustCreate(t, rc.URL, webhooks.Filter{})
		_, newSecret, err := e.subs.RotateSecret(context.Background(), sub.ID, "alice")
		if err != nil {
			t.Fatal(err)
		}
		runDispatcher(t, e.dispatcher())
		e.newParty(t, "Auditors", "auditor")
		synctest.Wait()
		time.Sleep(webhooks.SecretGrace + time.Minute)
		e.newParty(t, "Insurer", "insurer")
		synctest.Wait()
		hits := rc.got()
		if len(hits) != 2 {
			t.Fatalf("%d hits, want 2", len(hits))
		}
		for i, secret := range []string{oldSecret, newSecret} {
			if err := webhooks.Verify(secret, header(hits[0]), hits[0].Body, time.Time{}, 0); err != nil {
				t.Errorf("during the grace period, secret %d: %v", i, err)
			}
		}
		if err := webhooks.Verify(newSecret, header(hits[1]), hits[1].Body, time.Time{}, 0); err != nil {
			t.Errorf("after the grace period, new secret: %v", err)
		}
		if err := webhooks.Verify(oldSecret, header(hits[1]), hits[1].Body, time.Time{}, 0); err == nil {
			t.Errorf("after the grace period the old secret still verifies")
		}
		if n := len(strings.Fields(hits[1].Signature)); n != 1 {
			t.Errorf("after the grace period %d signatures", n)
		}
	})
}

// TestRedeliverAndFilters checks that a filter skips events (and the
// position still moves), and that redelivery replays from a position.
func TestRedeliverAndFilters(t *testing.T) {
	rc := newReceiver(t)
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		e := MustOpenEnv(t, "")
		sub, _ := e.mustCreate(t, rc.URL, webhooks.Filter{Triggers: []string{"incident"}})
		runDispatcher(t, e.dispatcher())
		p := e.newParty(t, "Employees", "employee") // trigger contract_change: skipped
		want := []int64{e.revise(t, p, 1, "incident")}
		e.revise(t, p, 2, "periodic_review") // skipped
		want = append(want, e.revise(t, p, 4, "incident"))
		e.revise(t, p, 5, "other") // skipped, last: the position moves past it anyway
		synctest.Wait()
		if got := positions(rc.got()); !slices.Equal(got, want) {
			t.Fatalf("delivered %v, want %v", got, want)
		}
		head, _, _ := e.store.Head(ctx)
		if got := must[webhooks.Subscription](t)(e.subs.Get(ctx, sub.ID)); got.Position != head {
			t.Fatalf("position %d, want the head %d", got.Position, head)
		}
		if _, err := e.subs.Redeliver(ctx, sub.ID, "alice", want[1]); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := positions(rc.got()); !slices.Equal(got, append(want, want[1])) {
			t.Fatalf("after redeliver from %d: %v", want[1], got)
		}
		ds := must[[]webhooks.Delivery](t)(e.subs.Deliveries(ctx, sub.ID, 2))
		if len(ds) != 2 || ds[0].Position != want[1] || ds[0].Outcome != webhooks.OutcomeDelivered || ds[0].StatusCode != http.StatusOK {
			t.Fatalf("deliveries %+v", ds)
		}
	})
}

// TestWatch checks the live stream of the feed: filtered items in order,
// starting after a position, ended by Stop.
func TestWatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := MustOpenEnv(t, "")
		p := e.newParty(t, "Press", "media")
		after, _, _ := e.store.Head(context.Background())
		w, err := e.feed.Watch(context.Background(), after, webhooks.Filter{PartyIDs: []string{string(p)}})
		if err != nil {
			t.Fatal(err)
		}
		other := e.newParty(t, "Landlord", "landlord")
		pos1 := e.revise(t, p, 5, "incident")
		e.revise(t, other, 5, "incident")
		pos2 := e.revise(t, p, 1, "incident")
		var got []pipeline.Item
		for len(got) < 2 {
			got = append(got, <-w.C...)
		}
		if got[0].Position != pos1 || got[1].Position != pos2 || got[0].Party.Name != "Press" || got[0].Change != projections.ChangePartyRevised {
			t.Fatalf("items %+v", got)
		}
		e.feed.Stop()
		if _, ok := <-w.C; ok {
			t.Fatal("stream open after Stop")
		}
		if err := w.Err(); err != webhooks.ErrStopped {
			t.Fatalf("Err = %v, want ErrStopped", err)
		}
		if _, err := e.feed.Watch(context.Background(), 0, webhooks.Filter{}); err != webhooks.ErrStopped {
			t.Fatalf("Watch after Stop: %v", err)
		}
	})
}
