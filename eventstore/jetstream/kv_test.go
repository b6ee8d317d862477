package jetstream_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/partyledger/partyledger/eventstore/jetstream"
)

// TestBucket checks that a shared-state bucket is created next to the log
// under its durability profile, that a second opener gets the same bucket,
// and that an existing bucket short of the profile is refused.
func TestBucket(t *testing.T) {
	srv := MustRunServer(t)
	nc := MustConnect(t, srv.ClientURL())
	st := MustOpenStore(t, nc, jetstream.Options{})
	kv, err := st.Bucket(t.Context(), "tokens", jetstream.BucketOptions{History: 5})
	if err != nil {
		t.Fatal(err)
	}
	if kv.Bucket() != st.BucketName("tokens") || !strings.HasPrefix(kv.Bucket(), st.Name()+"_") {
		t.Fatalf("bucket %q, want %q", kv.Bucket(), st.Name()+"_tokens")
	}
	if _, err := kv.Create(t.Context(), "k", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	again, err := st.Bucket(t.Context(), "tokens", jetstream.BucketOptions{History: 5})
	if err != nil {
		t.Fatal(err)
	}
	if e, err := again.Get(t.Context(), "k"); err != nil || string(e.Value()) != "v1" {
		t.Fatalf("second opener reads %v, %v", e, err)
	}
	status, err := kv.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if cfg := status.(*natsjs.KeyValueBucketStatus).StreamInfo().Config; cfg.Storage != natsjs.FileStorage {
		t.Errorf("storage %v, want file", cfg.Storage)
	}

	// Per-key TTLs: a lease expires.
	leases, err := st.Bucket(t.Context(), "leases", jetstream.BucketOptions{KeyTTLs: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leases.Create(t.Context(), "job", []byte("me"), natsjs.KeyTTL(time.Second)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := leases.Get(t.Context(), "job")
		if errors.Is(err, natsjs.ErrKeyNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lease still held after 10 s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// A bucket made by hand in memory is refused under the durable profile.
	js, _ := natsjs.New(nc)
	if _, err := js.CreateKeyValue(t.Context(), natsjs.KeyValueConfig{Bucket: st.BucketName("mem"), Storage: natsjs.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	_, err = st.Bucket(t.Context(), "mem", jetstream.BucketOptions{})
	if !errors.Is(err, jetstream.ErrProfile) || !strings.Contains(err.Error(), "storage is memory") {
		t.Fatalf("memory bucket under durable: %v, want ErrProfile naming the storage", err)
	}
	// One without per-key TTLs is refused to a caller that needs them.
	_, err = st.Bucket(t.Context(), "tokens", jetstream.BucketOptions{KeyTTLs: time.Second})
	if !errors.Is(err, jetstream.ErrProfile) || !strings.Contains(err.Error(), "per-key TTLs") {
		t.Fatalf("bucket without TTLs: %v", err)
	}
}
