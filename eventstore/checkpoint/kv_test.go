package checkpoint_test

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/partyledger/partyledger/eventstore/checkpoint"
	"github.com/partyledger/partyledger/eventstore/jetstream"
	"github.com/partyledger/partyledger/eventstore/jetstream/embedded"
)

// mustBucket opens the checkpoints bucket through a connection of its own
// (a replica) on the server at url.
func mustBucket(t *testing.T, url, stream string) natsjs.KeyValue {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	st, err := jetstream.Open(t.Context(), nc, jetstream.Options{Stream: stream, SubjectPrefix: strings.ToLower(stream) + ".events", Profile: jetstream.ProfileDev})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	kv, err := st.Bucket(t.Context(), "checkpoints", jetstream.BucketOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

// TestKVKeyAndTable checks the shared signing key (replicas racing to
// create it get one key; an existing key file is adopted) and the shared
// checkpoints (what one replica adds the other lists; latest only moves
// forward; the first checkpoint at a position stays).
func TestKVKeyAndTable(t *testing.T) {
	srv, err := embedded.Start(embedded.Config{StoreDir: t.TempDir(), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	ctx := t.Context()

	// A key file from a single-replica past is adopted.
	seed := filepath.Join(t.TempDir(), "partyledger.checkpoint-key")
	old, _, err := checkpoint.LoadOrCreateKey(seed, "partyledger")
	if err != nil {
		t.Fatal(err)
	}
	kvs := []natsjs.KeyValue{mustBucket(t, srv.ClientURL(), "CPTEST"), mustBucket(t, srv.ClientURL(), "CPTEST")}
	adopted, created, err := checkpoint.LoadOrCreateKVKey(ctx, kvs[0], "partyledger", seed)
	if err != nil || !created || adopted.VerifierKey() != old.VerifierKey() {
		t.Fatalf("the key file was not adopted into an empty bucket (created %v, %v)", created, err)
	}
	if again, created, err := checkpoint.LoadOrCreateKVKey(ctx, kvs[1], "other", ""); err != nil || created || again.VerifierKey() != old.VerifierKey() {
		t.Fatalf("a second replica did not get the shared key (created %v, %v)", created, err)
	}

	// Replicas racing on an empty bucket end up with one new key.
	race := []natsjs.KeyValue{mustBucket(t, srv.ClientURL(), "CPRACE"), mustBucket(t, srv.ClientURL(), "CPRACE"), mustBucket(t, srv.ClientURL(), "CPRACE")}
	keys := make([]string, len(race))
	made := make([]bool, len(race))
	var wg sync.WaitGroup
	for i, kv := range race {
		wg.Go(func() {
			s, c, err := checkpoint.LoadOrCreateKVKey(ctx, kv, "partyledger", "")
			if err != nil {
				t.Error(err)
				return
			}
			keys[i], made[i] = s.VerifierKey(), c
		})
	}
	wg.Wait()
	n := 0
	for i := range keys {
		if keys[i] != keys[0] {
			t.Fatalf("replicas got different keys: %v", keys)
		}
		if made[i] {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d replicas report creating the key, want 1", n)
	}

	signer, _, err := checkpoint.LoadOrCreateKVKey(ctx, kvs[1], "partyledger", "")
	if err != nil {
		t.Fatal(err)
	}
	a, b := &checkpoint.KVTable{KV: kvs[0]}, &checkpoint.KVTable{KV: kvs[1]}
	if _, ok, err := b.Latest(ctx); err != nil || ok {
		t.Fatalf("Latest of an empty bucket: ok %v, %v", ok, err)
	}
	add := func(tb *checkpoint.KVTable, pos int64, hash string) {
		c := checkpoint.Checkpoint{Origin: "partyledger", Position: pos, Hash: hash, Time: time.Unix(1700000000+pos, 0).UTC()}
		note, err := signer.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		if err := tb.Add(ctx, checkpoint.Stored{Checkpoint: c, Note: note}); err != nil {
			t.Fatal(err)
		}
	}
	h := func(c byte) string { sum := sha256.Sum256([]byte{c}); return hex.EncodeToString(sum[:]) }
	add(a, 10, h('A'))
	add(b, 20, h('B'))
	add(a, 15, h('C')) // late: latest stays at 20
	add(b, 10, h('D')) // a position kept already: the first stays
	latest, ok, err := a.Latest(ctx)
	if err != nil || !ok || latest.Position != 20 || latest.Hash != h('B') {
		t.Fatalf("latest %+v %v %v, want position 20", latest, ok, err)
	}
	all, err := b.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, s := range all {
		got = append(got, s.Position)
		if s.Position == 10 && s.Hash != h('A') {
			t.Fatalf("the checkpoint at 10 was replaced")
		}
	}
	if len(got) != 3 || got[0] != 10 || got[1] != 15 || got[2] != 20 {
		t.Fatalf("listed positions %v, want [10 15 20]", got)
	}
	v, err := checkpoint.NewVerifier(old.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	if c, err := checkpoint.Open([]byte(latest.Note), v); err != nil || c.Position != 20 {
		t.Fatalf("the shared key does not open the latest note: %v", err)
	}
}
