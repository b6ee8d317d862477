package jetstream_test

import (
	"context"
	"errors"
	"testing"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/partyledger/partyledger/eventstore/jetstream"
)

// laggingKV answers every Get as a follower that has not yet seen any
// write would: not found (the fault ReadYourWrites must hide).
type laggingKV struct{ natsjs.KeyValue }

func (laggingKV) Get(context.Context, string) (natsjs.KeyValueEntry, error) {
	return nil, natsjs.ErrKeyNotFound
}

// TestReadYourWrites: a Get that a lagging server answers "not found" is
// asked again of the stream leader, which has the acknowledged value; a
// deleted or never written key stays not found.
func TestReadYourWrites(t *testing.T) {
	ctx := t.Context()
	srv := MustRunServer(t)
	nc := MustConnect(t, srv.ClientURL())
	st := MustOpenStore(t, nc, jetstream.Options{})
	kv, err := st.Bucket(ctx, "sessions", jetstream.BucketOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rev, err := kv.Put(ctx, "s.abc", []byte(`{"actor":"admin"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "s.gone", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := kv.Delete(ctx, "s.gone"); err != nil {
		t.Fatal(err)
	}
	ryw := st.ReadYourWrites(laggingKV{kv})
	e, err := ryw.Get(ctx, "s.abc")
	if err != nil {
		t.Fatalf("a lagging miss of an acknowledged key: %v", err)
	}
	if string(e.Value()) != `{"actor":"admin"}` || e.Revision() != rev || e.Key() != "s.abc" || e.Bucket() != kv.Bucket() {
		t.Fatalf("leader read: %s rev %d key %s bucket %s, want the value at rev %d", e.Value(), e.Revision(), e.Key(), e.Bucket(), rev)
	}
	for _, key := range []string{"s.gone", "s.never"} {
		if _, err := ryw.Get(ctx, key); !errors.Is(err, natsjs.ErrKeyNotFound) {
			t.Errorf("Get(%s) = %v, want ErrKeyNotFound", key, err)
		}
	}
	// A hit is the direct get's answer.
	if e, err := st.ReadYourWrites(kv).Get(ctx, "s.abc"); err != nil || e.Revision() != rev {
		t.Fatalf("direct hit: %v %v", e, err)
	}
}
