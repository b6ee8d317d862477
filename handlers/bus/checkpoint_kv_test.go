package bus_test

import (
	"sync"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/partyledger/partyledger/eventstore/jetstream"
	"github.com/partyledger/partyledger/eventstore/jetstream/embedded"
	"github.com/partyledger/partyledger/handlers/bus"
)

// TestKVCheckpoints checks the shared checkpoints: what one replica saves
// the other loads, and concurrent saves never move a checkpoint backwards.
func TestKVCheckpoints(t *testing.T) {
	srv, err := embedded.Start(embedded.Config{StoreDir: t.TempDir(), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	open := func() *bus.KVCheckpoints {
		nc, err := nats.Connect(srv.ClientURL())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		st, err := jetstream.Open(t.Context(), nc, jetstream.Options{Stream: "BUSCP", SubjectPrefix: "buscp.events", Profile: jetstream.ProfileDev})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		kv, err := st.Bucket(t.Context(), "bus", jetstream.BucketOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return &bus.KVCheckpoints{KV: kv}
	}
	a, b := open(), open()
	ctx := t.Context()
	if pos, err := a.Load(ctx, "forwarder"); err != nil || pos != 0 {
		t.Fatalf("Load of a new checkpoint: %d, %v; want 0", pos, err)
	}
	if err := a.Save(ctx, "forwarder", 5); err != nil {
		t.Fatal(err)
	}
	if err := b.Save(ctx, "forwarder", 3); err != nil {
		t.Fatal(err)
	}
	if pos, err := b.Load(ctx, "forwarder"); err != nil || pos != 5 {
		t.Fatalf("Load on B: %d, %v; want 5 (saved on A; the later save of 3 must not move it back)", pos, err)
	}
	var wg sync.WaitGroup
	for i, c := range []*bus.KVCheckpoints{a, b} {
		wg.Go(func() {
			for p := int64(6 + i); p <= 200; p += 2 {
				if err := c.Save(ctx, "forwarder", p); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if pos, err := a.Load(ctx, "forwarder"); err != nil || pos != 200 {
		t.Fatalf("after concurrent saves: %d, %v; want 200", pos, err)
	}
}
