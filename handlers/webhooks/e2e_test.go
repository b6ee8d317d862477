package webhooks_test

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore/sqlite"
	"github.com/partyledger/partyledger/handlers/webhooks"
)

// TestDeliveryEndToEnd is the acceptance test of webhook delivery, on the
// fake clock of a synctest bubble with real HTTP receivers on loopback
// (allowlisted):
//
//   - receiver A is down (503) for the first 3 hours while events are
//     appended; receiver B, with a filter, is up and is not held up by A;
//   - the dispatcher is stopped (as by kill -9) while events are appended,
//     and a new dispatcher on a new database handle resumes from the stored
//     positions and retry state;
//   - when A comes back, its first successful request loses its answer
//     (the connection drops after the receiver took the event), so that
//     event arrives twice, with the same webhook-id.
//
// In the end every notification has arrived, in order per subscription,
// none lost, every signature verifies, and the only duplicates carry the
// same webhook-id and body.
func TestDeliveryEndToEnd(t *testing.T) {
	rcA, rcB := newReceiver(t), newReceiver(t)
	var down atomic.Bool
	var dropped atomic.Bool
	down.Store(true)
	rcA.setRespond(func(_ hit, w http.ResponseWriter) int {
		if down.Load() {
			return http.StatusServiceUnavailable
		}
		if dropped.CompareAndSwap(false, true) {
			// Take the event, then lose the answer.
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
				}
			}
			return 0
		}
		return http.StatusNoContent
	})

	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		e := MustOpenEnv(t, "")
		subA, secA := e.mustCreate(t, rcA.URL+"/a", webhooks.Filter{})
		subB, secB := e.mustCreate(t, rcB.URL+"/b", webhooks.Filter{
			Types: []string{"party.revised"}, Categories: []string{"supplier"}})
		stop1 := runDispatcher(t, e.dispatcher())

		customers := e.newParty(t, "Customers", "customer")
		cloud := e.newParty(t, "Cloud provider", "supplier")
		var wantB []int64
		levels := []int{1, 2, 4, 5, 1, 2, 4, 5, 1} // each differs from the one before and from the start, 3
		for i := range 6 {
			e.revise(t, customers, levels[i], "customer_feedback")
			wantB = append(wantB, e.revise(t, cloud, levels[i], "incident"))
			time.Sleep(10 * time.Minute)
		}
		synctest.Wait()
		if got := positions(rcB.got()); !slices.Equal(got, wantB) {
			t.Fatalf("B while A is down: got %v, want %v", got, wantB)
		}
		if n := len(rcA.got()); n == 0 {
			t.Fatal("A was never tried")
		}

		// Stop the dispatcher as a crash would, append while nothing
		// delivers, and start another one on a fresh database handle.
		stop1()
		for i := range 3 {
			wantB = append(wantB, e.revise(t, cloud, levels[6+i], "audit_finding"))
		}
		db2, err := sqlite.OpenDB(e.dbPath)
		if err != nil {
			t.Fatal(err)
		}
		defer db2.Close()
		subs2 := must[*webhooks.Subscriptions](t)(webhooks.NewSubscriptions(ctx, db2, e.guard, e.store))
		d2 := e.dispatcher()
		d2.Subs = subs2
		before := len(rcA.got())
		runDispatcher(t, d2)
		synctest.Wait()
		if got := positions(rcB.got()); !slices.Equal(got, wantB) {
			t.Fatalf("B after the restart: got %v, want %v", got, wantB)
		}
		if n := len(rcA.got()); n != before {
			t.Fatalf("the restarted dispatcher retried A at once (%d hits, had %d): the stored schedule was lost", n, before)
		}

		time.Sleep(3*time.Hour - time.Since(bubbleStart))
		down.Store(false)
		time.Sleep(30 * time.Hour)
		synctest.Wait()

		head, _, err := e.store.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Every event after the subscription's start but the name
		// reservations, which are not notified.
		var wantA []int64
		rest, err := e.store.ReadAll(ctx, subA.Position, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range rest {
			if !domain.IsInternalEvent(ev.Type) {
				wantA = append(wantA, ev.Position)
			}
		}
		t.Logf("A: %d requests for %d events; B: %d requests", len(rcA.got()), len(wantA), len(rcB.got()))
		checkStream(t, "A", rcA.got(), secA, wantA)
		checkStream(t, "B", rcB.got(), secB, wantB)
		if !dropped.Load() {
			t.Fatal("no answer was dropped")
		}
		for _, s := range []webhooks.Subscription{subA, subB} {
			got := must[webhooks.Subscription](t)(subs2.Get(ctx, s.ID))
			if got.Status != webhooks.StatusActive || got.Position != head || got.FailedAttempts != 0 {
				t.Errorf("subscription %s: status %s position %d (head %d) failed %d", s.ID, got.Status, got.Position, head, got.FailedAttempts)
			}
		}
	})
}

// positions lists the positions of the hits that were answered 2xx.
func positions(hits []hit) []int64 {
	var out []int64
	for _, h := range hits {
		if h.Status >= 200 && h.Status < 300 {
			out = append(out, h.Payload.Position)
		}
	}
	return out
}

// checkStream checks what one receiver got: every signature verifies;
// requests come in position order (a retry repeats a position, never goes
// back); each webhook-id always carries the same event and body; and the
// distinct events are exactly want.
func checkStream(tb testing.TB, name string, hits []hit, secret string, want []int64) {
	tb.Helper()
	bodies := map[string][]byte{}
	var distinct []int64
	last := int64(0)
	for i, h := range hits {
		if err := webhooks.Verify(secret, header(h), h.Body, time.Time{}, 0); err != nil {
			tb.Errorf("%s: request %d: %v", name, i, err)
		}
		p := h.Payload
		if p.ID != h.ID || p.Data.Event.ID != h.ID || p.Data.Event.Position != p.Position || p.SpecVersion != "1.0" {
			tb.Errorf("%s: request %d: webhook-id %s, payload id %s event %s position %d/%d", name, i, h.ID, p.ID, p.Data.Event.ID, p.Position, p.Data.Event.Position)
		}
		if p.Data.Event.Hash != p.Data.Event.ComputeHash() {
			tb.Errorf("%s: request %d: the event's hash does not verify", name, i)
		}
		if b, ok := bodies[h.ID]; ok && !bytes.Equal(b, h.Body) {
			tb.Errorf("%s: webhook-id %s sent with two different bodies", name, h.ID)
		}
		bodies[h.ID] = h.Body
		switch {
		case p.Position < last:
			tb.Errorf("%s: request %d: position %d after %d: out of order", name, i, p.Position, last)
		case p.Position > last:
			distinct = append(distinct, p.Position)
			last = p.Position
		}
	}
	if !slices.Equal(distinct, want) {
		tb.Errorf("%s: got events %v, want %v", name, distinct, want)
	}
	if len(bodies) != len(want) {
		tb.Errorf("%s: %d webhook-ids for %d events", name, len(bodies), len(want))
	}
}
