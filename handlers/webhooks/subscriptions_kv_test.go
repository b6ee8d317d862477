package webhooks_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore/jetstream"
	"github.com/partyledger/partyledger/eventstore/jetstream/embedded"
	"github.com/partyledger/partyledger/handlers/lease"
	"github.com/partyledger/partyledger/handlers/webhooks"
)

// leaseTTL is short in these tests, so that a takeover is quick.
const leaseTTL = 2 * time.Second

// replica is one process's view of the shared buckets: its own NATS
// connection (closing it is the replica's death), subscriptions and leases.
type replica struct {
	nc     *nats.Conn
	subs   *webhooks.Subscriptions
	leases *lease.Runner
	kv     natsjs.KeyValue // the lease bucket
}

func mustRunNATS(tb testing.TB) *server.Server {
	tb.Helper()
	srv, err := embedded.Start(embedded.Config{StoreDir: tb.TempDir(), Port: -1})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	return srv
}

// mustOpenReplica connects to srv and opens the shared buckets as serve
// does (cmd/partyledger/webhooks.go), with e's log as the head.
func mustOpenReplica(tb testing.TB, srv *server.Server, e *env, holder string) *replica {
	tb.Helper()
	ctx := context.Background()
	nc, err := nats.Connect(srv.ClientURL(), nats.MaxReconnects(0))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	st, err := jetstream.Open(ctx, nc, jetstream.Options{Stream: "HOOKTEST", SubjectPrefix: "hooktest.events", Profile: jetstream.ProfileDev})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	subsKV := must[natsjs.KeyValue](tb)(st.Bucket(ctx, "webhooks", jetstream.BucketOptions{}))
	logKV := must[natsjs.KeyValue](tb)(st.Bucket(ctx, "webhooks_log", jetstream.BucketOptions{History: webhooks.KVKeepDeliveries}))
	leaseKV := must[natsjs.KeyValue](tb)(st.Bucket(ctx, "leases", jetstream.BucketOptions{TTL: leaseTTL}))
	return &replica{nc: nc, subs: webhooks.NewKVSubscriptions(subsKV, logKV, e.guard, e.store),
		leases: &lease.Runner{KV: leaseKV, Holder: holder, TTL: leaseTTL}, kv: leaseKV}
}

// TestKVSubscriptionsShared checks that the shared buckets make one set of
// subscriptions for every replica: made on A, listed, changed and watched
// on B, with one history and one delivery log; and that a position never
// moves backwards.
func TestKVSubscriptionsShared(t *testing.T) {
	ctx := t.Context()
	srv := mustRunNATS(t)
	e := MustOpenEnv(t, "")
	a, b := mustOpenReplica(t, srv, e, "a"), mustOpenReplica(t, srv, e, "b")

	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go b.subs.Watch(wctx)
	time.Sleep(100 * time.Millisecond) // the watch reads the initial state
	changed := b.subs.Changed()

	rc := newReceiver(t)
	sub, secret, err := a.subs.Create(ctx, webhooks.NewSubscription{URL: rc.URL + "/hook", Actor: "alice", Description: "shared"})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	case <-time.After(2 * time.Second):
		t.Fatal("B did not notice a subscription created on A within 2 s")
	}
	list := must[[]webhooks.Subscription](t)(b.subs.List(ctx))
	if len(list) != 1 || list[0].ID != sub.ID || list[0].URL != sub.URL || list[0].Description != "shared" {
		t.Fatalf("B lists %+v, want the subscription made on A", list)
	}

	// B delivers (a dispatcher on B, without leases): the secret made on A
	// signs, and the attempt shows on A.
	e.newParty(t, "Shared Ltd", "supplier")
	stop := runDispatcher(t, &webhooks.Dispatcher{Subs: b.subs, Feed: e.feed, Guard: e.guard, Reload: time.Minute})
	waitUntil(t, 10*time.Second, func() bool { return len(rc.got()) >= 1 })
	h := rc.got()[0]
	if err := webhooks.Verify(secret, header(h), h.Body, time.Time{}, 0); err != nil {
		t.Fatalf("a delivery from B does not verify with the secret made on A: %v", err)
	}
	waitUntil(t, 5*time.Second, func() bool {
		ds, err := a.subs.Deliveries(ctx, sub.ID, 10)
		return err == nil && len(ds) == 1 && ds[0].Outcome == webhooks.OutcomeDelivered && ds[0].EventID == h.ID
	})
	stop()
	got := must[webhooks.Subscription](t)(a.subs.Get(ctx, sub.ID))
	if got.Position < h.Payload.Position {
		t.Fatalf("position on A %d, want at least %d (delivered by B)", got.Position, h.Payload.Position)
	}

	// Changes on A are seen on B, and the history is one.
	changed = b.subs.Changed()
	if err := a.subs.Disable(ctx, sub.ID, "alice", "maintenance"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	case <-time.After(2 * time.Second):
		t.Fatal("B did not notice a subscription disabled on A within 2 s")
	}
	if got := must[webhooks.Subscription](t)(b.subs.Get(ctx, sub.ID)); got.Status != webhooks.StatusDisabled || got.DisabledReason != "maintenance" {
		t.Fatalf("B sees %+v after a disable on A", got)
	}
	if _, _, err := b.subs.RotateSecret(ctx, sub.ID, "bob"); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, r := range must[[]webhooks.Record](t)(a.subs.History(ctx, sub.ID)) {
		kinds = append(kinds, r.Kind+"/"+r.Actor)
	}
	if want := []string{"created/alice", "disabled/alice", "secret_rotated/bob"}; !equal(kinds, want) {
		t.Fatalf("history on A %v, want %v", kinds, want)
	}

	// Redeliver from 1 on B moves the position back (a new generation);
	// the old generation's late write is refused, and no write moves the
	// position backwards within a generation.
	if _, err := b.subs.Redeliver(ctx, sub.ID, "bob", 1); err != nil {
		t.Fatal(err)
	}
	if got := must[webhooks.Subscription](t)(a.subs.Get(ctx, sub.ID)); got.Position != 0 {
		t.Fatalf("position %d after redeliver from 1, want 0", got.Position)
	}

	// Delete on B: gone on A, with its history kept.
	changed = a.subs.Changed()
	if err := b.subs.Delete(ctx, sub.ID, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.subs.Get(ctx, sub.ID); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("Get on A after a delete on B: %v, want ENOTFOUND", err)
	}
	if ds, err := a.subs.Deliveries(ctx, sub.ID, 10); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("deliveries of a deleted subscription: %v %v", ds, err)
	}
	hist := must[[]webhooks.Record](t)(a.subs.History(ctx, sub.ID))
	if last := hist[len(hist)-1]; last.Kind != webhooks.RecordDeleted || last.Actor != "bob" {
		t.Fatalf("last history record %+v, want deleted by bob", last)
	}
	if _, err := a.subs.Get(ctx, "../x"); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("Get of a bad id: %v, want ENOTFOUND", err)
	}
}

// TestKVConcurrentAdvance races two replicas delivering to one
// subscription without leases (the worst case): the stored position only
// ever grows, and ends at the last event.
func TestKVConcurrentAdvance(t *testing.T) {
	ctx := t.Context()
	srv := mustRunNATS(t)
	e := MustOpenEnv(t, "")
	a, b := mustOpenReplica(t, srv, e, "a"), mustOpenReplica(t, srv, e, "b")
	rc := newReceiver(t)
	sub, _, err := a.subs.Create(ctx, webhooks.NewSubscription{URL: rc.URL + "/hook", Actor: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	var last int64
	p := e.newParty(t, "Race Ltd", "supplier")
	for i := range 20 {
		last = e.revise(t, p, 1+i%5, "other")
	}
	var mu sync.Mutex
	var seen []int64
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go func() {
		for wctx.Err() == nil {
			if s, err := a.subs.Get(wctx, sub.ID); err == nil {
				mu.Lock()
				seen = append(seen, s.Position)
				mu.Unlock()
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	stopA := runDispatcher(t, &webhooks.Dispatcher{Subs: a.subs, Feed: e.feed, Guard: e.guard, Reload: time.Minute})
	stopB := runDispatcher(t, &webhooks.Dispatcher{Subs: b.subs, Feed: e.feed, Guard: e.guard, Reload: time.Minute})
	waitUntil(t, 20*time.Second, func() bool {
		s, err := b.subs.Get(ctx, sub.ID)
		return err == nil && s.Position == last
	})
	stopA()
	stopB()
	stopWatch()
	mu.Lock()
	defer mu.Unlock()
	for i := 1; i < len(seen); i++ {
		if seen[i] < seen[i-1] {
			t.Fatalf("the position moved backwards: %d after %d", seen[i], seen[i-1])
		}
	}
	t.Logf("%d position reads, %d deliveries by two unleased dispatchers", len(seen), len(rc.got()))
}

// TestKVDeliveriesUnderLeases runs two replicas' dispatchers on one set of
// shared subscriptions, each worker under its lease: every event is
// delivered, duplicates only with the same webhook-id, never two
// deliveries to the subscription in flight at once; when the holding
// replica dies (its NATS connection cut, no cleanup) the other takes over
// within 30 s and the receiver still gets every event.
func TestKVDeliveriesUnderLeases(t *testing.T) {
	ctx := t.Context()
	srv := mustRunNATS(t)
	e := MustOpenEnv(t, "")
	reps := map[string]*replica{"a": mustOpenReplica(t, srv, e, "a"), "b": mustOpenReplica(t, srv, e, "b")}
	oc := newOverlapCounter(t)
	sub, _, err := reps["a"].subs.Create(ctx, webhooks.NewSubscription{URL: oc.URL + "/hook", Actor: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reps {
		runDispatcher(t, &webhooks.Dispatcher{Subs: r.subs, Feed: e.feed, Guard: e.guard, Reload: time.Minute, Leases: r.leases})
	}
	p := e.newParty(t, "Leased Ltd", "supplier")
	// ids are the events the subscription must get: every one after its
	// creation but the internal bookkeeping (name reservations).
	ids := func() []string {
		evs, err := e.store.ReadAll(ctx, sub.Position, 10000)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, ev := range evs {
			if !domain.IsInternalEvent(ev.Type) {
				out = append(out, ev.ID)
			}
		}
		return out
	}
	appendEvents := func(n int) {
		for i := range n {
			e.revise(t, p, 1+i%5, "other")
		}
	}
	appendEvents(10)
	waitUntil(t, 20*time.Second, func() bool { return oc.hasAll(ids()) })
	oc.check(t, ids())

	// The holder dies.
	entry, err := reps["a"].kv.Get(ctx, webhooks.LeasePrefix+sub.ID)
	if err != nil {
		t.Fatalf("no lease held for the subscription: %v", err)
	}
	holder := string(entry.Value())
	died := time.Now()
	reps[holder].nc.Close()
	appendEvents(10)
	waitUntil(t, 30*time.Second, func() bool { return oc.hasAll(ids()) })
	t.Logf("replica %s died; every event delivered %v later", holder, time.Since(died))
	oc.check(t, ids())
}

// overlapCounter is a receiver that counts deliveries per webhook-id and
// notices two requests in flight at once (two replicas delivering one
// subscription at the same moment: one replica delivers in order, one at a
// time).
type overlapCounter struct {
	*httptest.Server
	mu       sync.Mutex
	inFlight int
	overlaps int
	count    map[string]int
	bodyID   map[string]bool // webhook-id equals the payload's event id
}

func newOverlapCounter(tb testing.TB) *overlapCounter {
	oc := &overlapCounter{count: map[string]int{}, bodyID: map[string]bool{}}
	oc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		oc.mu.Lock()
		oc.inFlight++
		if oc.inFlight > 1 {
			oc.overlaps++
		}
		oc.mu.Unlock()
		var pl webhooks.Payload
		_ = json.NewDecoder(r.Body).Decode(&pl)
		time.Sleep(10 * time.Millisecond) // widen the window an overlap would show in
		id := r.Header.Get(webhooks.HeaderID)
		oc.mu.Lock()
		oc.inFlight--
		oc.count[id]++
		oc.bodyID[id] = pl.ID == id && pl.Data.Event.ID == id
		oc.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	tb.Cleanup(oc.Close)
	return oc
}

func (oc *overlapCounter) hasAll(ids []string) bool {
	oc.mu.Lock()
	defer oc.mu.Unlock()
	for _, id := range ids {
		if oc.count[id] == 0 {
			return false
		}
	}
	return true
}

// check fails unless every id arrived, nothing else did, every duplicate
// carried its own id, and no two deliveries overlapped.
func (oc *overlapCounter) check(tb testing.TB, ids []string) {
	tb.Helper()
	oc.mu.Lock()
	defer oc.mu.Unlock()
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	dups := 0
	for id, n := range oc.count {
		if !want[id] {
			tb.Errorf("delivered %s, which is not an event of the test", id)
		}
		if !oc.bodyID[id] {
			tb.Errorf("webhook-id %s differs from its payload's event id", id)
		}
		dups += n - 1
	}
	for _, id := range ids {
		if oc.count[id] == 0 {
			tb.Errorf("event %s never delivered", id)
		}
	}
	if oc.overlaps > 0 {
		tb.Errorf("%d deliveries overlapped another one: two replicas delivered at once", oc.overlaps)
	}
	tb.Logf("%d events, %d duplicate deliveries (same webhook-id), %d overlaps", len(ids), dups, oc.overlaps)
}

func waitUntil(tb testing.TB, d time.Duration, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("not true within %v", d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestKVAdopt moves the subscriptions of a local database into empty
// shared buckets: state, secrets and history carry over, once.
func TestKVAdopt(t *testing.T) {
	ctx := t.Context()
	srv := mustRunNATS(t)
	e := MustOpenEnv(t, "")
	rc := newReceiver(t)
	kept, secret := e.mustCreate(t, rc.URL+"/kept", webhooks.Filter{})
	paused, _ := e.mustCreate(t, rc.URL+"/paused", webhooks.Filter{})
	if err := e.subs.Disable(ctx, paused.ID, "alice", "holiday"); err != nil {
		t.Fatal(err)
	}
	r := mustOpenReplica(t, srv, e, "a")
	if n, err := r.subs.Adopt(ctx, e.subs); err != nil || n != 2 {
		t.Fatalf("Adopt: %d, %v; want 2", n, err)
	}
	if n, err := r.subs.Adopt(ctx, e.subs); err != nil || n != 0 {
		t.Fatalf("a second Adopt: %d, %v; want 0 (the buckets are no longer empty)", n, err)
	}
	local := must[[]webhooks.Subscription](t)(e.subs.List(ctx))
	shared := must[[]webhooks.Subscription](t)(r.subs.List(ctx))
	if len(shared) != 2 || shared[0].ID != local[0].ID || shared[1].ID != local[1].ID ||
		shared[1].Status != webhooks.StatusDisabled || shared[1].DisabledReason != "holiday" || shared[0].Position != local[0].Position {
		t.Fatalf("adopted %+v, want %+v", shared, local)
	}
	var kinds []string
	for _, rec := range must[[]webhooks.Record](t)(r.subs.History(ctx, paused.ID)) {
		kinds = append(kinds, rec.Kind)
	}
	if !equal(kinds, []string{webhooks.RecordCreated, webhooks.RecordDisabled}) {
		t.Fatalf("adopted history %v", kinds)
	}
	// The secret carried over: a delivery from the shared buckets verifies.
	e.newParty(t, "Adopted Ltd", "supplier")
	runDispatcher(t, &webhooks.Dispatcher{Subs: r.subs, Feed: e.feed, Guard: e.guard, Reload: time.Minute})
	waitUntil(t, 10*time.Second, func() bool { return len(rc.got()) >= 1 })
	h := rc.got()[0]
	if err := webhooks.Verify(secret, header(h), h.Body, time.Time{}, 0); err != nil {
		t.Fatalf("delivery of %s after adoption: %v", kept.ID, err)
	}
}
