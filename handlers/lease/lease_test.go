package lease_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/partyledger/partyledger/eventstore/jetstream"
	"github.com/partyledger/partyledger/eventstore/jetstream/embedded"
	"github.com/partyledger/partyledger/handlers/lease"
)

const ttl = 2 * time.Second

// openRunner connects to the server at url and returns a runner on the
// shared lease bucket, and the connection (closing it is a holder's death).
func openRunner(t *testing.T, url, holder string) (*lease.Runner, *nats.Conn) {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	st, err := jetstream.Open(t.Context(), nc, jetstream.Options{Stream: "LEASETEST", SubjectPrefix: "leasetest.events", Profile: jetstream.ProfileDev})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	kv, err := st.Bucket(t.Context(), "leases", jetstream.BucketOptions{TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	return &lease.Runner{KV: kv, Holder: holder, TTL: ttl}, nc
}

// TestOneHolderAndTakeover runs one job on two replicas: only one runs it
// at any moment, and when the holder dies without letting go (its
// connection cut, as by kill -9), the other takes the job over within the
// TTL plus one poll.
func TestOneHolderAndTakeover(t *testing.T) {
	srv, err := embedded.Start(embedded.Config{StoreDir: t.TempDir(), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })

	var running, maxRunning atomic.Int32
	var mu sync.Mutex
	ranBy := map[string]time.Time{} // holder -> when it started the job
	job := func(holder string) func(context.Context) error {
		return func(ctx context.Context) error {
			n := running.Add(1)
			defer running.Add(-1)
			for {
				m := maxRunning.Load()
				if n <= m || maxRunning.CompareAndSwap(m, n) {
					break
				}
			}
			mu.Lock()
			ranBy[holder] = time.Now()
			mu.Unlock()
			<-ctx.Done()
			return ctx.Err()
		}
	}
	a, ncA := openRunner(t, srv.ClientURL(), "a")
	b, _ := openRunner(t, srv.ClientURL(), "b")
	ctxA, cancelA := context.WithCancel(t.Context())
	defer cancelA()
	ctxB, cancelB := context.WithCancel(t.Context())
	defer cancelB()
	go a.Run(ctxA, "webhooks.sub-1", job("a"))
	waitFor(t, 5*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return !ranBy["a"].IsZero() })
	go b.Run(ctxB, "webhooks.sub-1", job("b"))
	time.Sleep(2 * ttl) // b polls meanwhile and must not get in
	mu.Lock()
	if !ranBy["b"].IsZero() {
		mu.Unlock()
		t.Fatal("b ran the job while a held the lease")
	}
	mu.Unlock()

	// a dies: its connection is cut and it never releases the key.
	died := time.Now()
	ncA.Close()
	waitFor(t, 30*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return !ranBy["b"].IsZero() })
	mu.Lock()
	took := ranBy["b"].Sub(died)
	mu.Unlock()
	if took > ttl+ttl/3+time.Second {
		t.Errorf("takeover after %v, want within TTL %v + poll", took, ttl)
	}
	if m := maxRunning.Load(); m != 1 {
		t.Errorf("%d holders ran the job at once, want 1", m)
	}
	t.Logf("takeover after %v", took)

	// A holder that stops lets go at once: a third replica takes over
	// without waiting for the TTL.
	c, _ := openRunner(t, srv.ClientURL(), "c")
	ctxC, cancelC := context.WithCancel(t.Context())
	defer cancelC()
	go c.Run(ctxC, "webhooks.sub-1", job("c"))
	time.Sleep(200 * time.Millisecond)
	stopped := time.Now()
	cancelB()
	waitFor(t, 10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return !ranBy["c"].IsZero() })
	if took := time.Since(stopped); took > ttl {
		t.Errorf("handover after a clean stop took %v, want less than the TTL", took)
	}
}

// TestFinishedJob checks that a job that returns nil ends Run, and that
// without a bucket (one process) the job simply runs.
func TestFinishedJob(t *testing.T) {
	r := &lease.Runner{}
	calls := 0
	if err := r.Run(t.Context(), "x", func(context.Context) error { calls++; return nil }); err != nil || calls != 1 {
		t.Fatalf("Run without a bucket: %v after %d calls", err, calls)
	}
}

func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not true within %v", d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
