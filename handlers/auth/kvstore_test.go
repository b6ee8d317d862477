package auth

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore/jetstream/embedded"
)

// MustOpenBuckets returns n handles (as n replicas, each on its own
// connection) of one key-value bucket of a fresh embedded JetStream server
// on loopback.
func MustOpenBuckets(tb testing.TB, bucket string, n int) []jetstream.KeyValue {
	tb.Helper()
	srv, err := embedded.Start(embedded.Config{StoreDir: tb.TempDir(), Port: -1})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	var out []jetstream.KeyValue
	for range n {
		nc, err := nats.Connect(srv.ClientURL())
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(nc.Close)
		js, err := jetstream.New(nc)
		if err != nil {
			tb.Fatal(err)
		}
		kv, err := js.CreateOrUpdateKeyValue(context.Background(), jetstream.KeyValueConfig{Bucket: bucket, Storage: jetstream.FileStorage})
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, kv)
	}
	return out
}

// MustOpenKVTokens returns n Tokens (as n replicas) over one token bucket,
// with a clock the test controls, and the bucket.
func MustOpenKVTokens(tb testing.TB, n int, now *time.Time) ([]*Tokens, jetstream.KeyValue) {
	tb.Helper()
	kvs := MustOpenBuckets(tb, "T_tokens", n)
	var out []*Tokens
	for _, kv := range kvs {
		t := NewTokensIn(NewKVTokenStore(kv))
		if now != nil {
			t.Now = func() time.Time { return *now }
		}
		out = append(out, t)
	}
	return out, kvs[0]
}

// TestKVTokens runs the token rules on the shared bucket across two
// replicas: a token made on one authenticates on the other, a name is
// taken once in any case, a revocation on one is seen by the other when
// its cache entry ends, and the bucket holds hashes, never secrets.
func TestKVTokens(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	reps, kv := MustOpenKVTokens(t, 2, &now)
	a, b := reps[0], reps[1]

	exp := now.Add(time.Hour)
	secret, _, err := a.Create(ctx, "alice@example.com", RoleEditor, &exp)
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.Authenticate(ctx, secret)
	if err != nil || got.Name != "alice@example.com" || got.Role != RoleEditor || got.ExpiresAt == nil || !got.ExpiresAt.Equal(exp) {
		t.Fatalf("B authenticates A's token: %+v, %v", got, err)
	}
	if _, err := b.Lookup(ctx, "alice@example.com"); err != nil {
		t.Fatalf("B looks it up by name: %v", err)
	}
	if _, _, err := b.Create(ctx, "ALICE@example.com", RoleViewer, nil); domain.ErrorCode(err) != domain.ECONFLICT {
		t.Fatalf("the same name in another case on B: %v, want ECONFLICT", err)
	}
	if _, err := a.Authenticate(ctx, secret+"x"); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("a wrong secret: %v", err)
	}

	// Only hashes are stored.
	keys, err := kv.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		e, err := kv.Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(e.Value()), secret[len(TokenPrefix):]) || strings.Contains(k, secret[len(TokenPrefix):]) {
			t.Fatalf("key %s holds the secret", k)
		}
	}
	if _, err := kv.Get(ctx, "hash."+hashSecret(secret)); err != nil {
		t.Fatalf("hash key: %v", err)
	}
	e, err := kv.Get(ctx, "name.alice=40example=2ecom")
	if err != nil {
		t.Fatal(err)
	}
	var rec TokenRecord
	if err := json.Unmarshal(e.Value(), &rec); err != nil || rec.Hash != hashSecret(secret) {
		t.Fatalf("name key holds %s (%v)", e.Value(), err)
	}

	// Revoked on B: A's cached answer lasts at most authCacheTTL.
	if _, err := a.Authenticate(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if err := b.Revoke(ctx, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := b.Revoke(ctx, "alice@example.com"); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("second revocation: %v, want ENOTFOUND", err)
	}
	if _, err := b.Authenticate(ctx, secret); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("B right after revoking: %v", err)
	}
	now = now.Add(authCacheTTL)
	if _, err := a.Authenticate(ctx, secret); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("A %s after B revoked: %v, want ErrUnauthenticated", authCacheTTL, err)
	}
	if _, err := a.Lookup(ctx, "alice@example.com"); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("A looks up a revoked token: %v", err)
	}
	list, err := a.List(ctx)
	if err != nil || len(list) != 1 || list[0].RevokedAt == nil {
		t.Fatalf("list %+v, %v", list, err)
	}
	if n, err := a.Count(ctx); err != nil || n != 0 {
		t.Fatalf("count %d, %v, want 0 active", n, err)
	}
}

// TestKVTokensOneNameOnce: concurrent creates of one name on several
// replicas give exactly one token.
func TestKVTokensOneNameOnce(t *testing.T) {
	reps, _ := MustOpenKVTokens(t, 3, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, conflicts := 0, 0
	for i := range 12 {
		wg.Go(func() {
			_, _, err := reps[i%3].Create(t.Context(), "admin", RoleAdmin, nil)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case domain.ErrorCode(err) == domain.ECONFLICT:
				conflicts++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins != 1 || conflicts != 11 {
		t.Fatalf("%d created, %d conflicts; want 1 and 11", wins, conflicts)
	}
}

// TestKVTokensMigrate moves a replica's local tokens into the shared
// bucket: created once, skipped when already there, refused when the
// shared name has another secret.
func TestKVTokensMigrate(t *testing.T) {
	ctx := t.Context()
	now := time.Now().UTC()
	local := MustOpenTokens(t, &now)
	secret, _, err := local.Create(ctx, "ci", RoleEditor, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := local.Create(ctx, "old", RoleViewer, nil); err != nil {
		t.Fatal(err)
	}
	if err := local.Revoke(ctx, "old"); err != nil {
		t.Fatal(err)
	}
	reps, _ := MustOpenKVTokens(t, 1, &now)
	shared := reps[0]
	kvs := shared.store.(*KVTokenStore)
	n, err := kvs.Migrate(ctx, local)
	if err != nil || n != 2 {
		t.Fatalf("migrate: %d, %v; want 2", n, err)
	}
	if tok, err := shared.Authenticate(ctx, secret); err != nil || tok.Name != "ci" {
		t.Fatalf("a migrated token authenticates: %+v %v", tok, err)
	}
	if tok, err := shared.Lookup(ctx, "old"); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("a revoked local token stays revoked: %+v %v", tok, err)
	}
	if n, err := kvs.Migrate(ctx, local); err != nil || n != 0 {
		t.Fatalf("second migration: %d, %v; want 0", n, err)
	}
	other := MustOpenTokens(t, &now)
	if _, _, err := other.Create(ctx, "CI", RoleAdmin, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := kvs.Migrate(ctx, other); !errors.Is(err, ErrMigrationConflict) || !strings.Contains(err.Error(), `"CI"`) {
		t.Fatalf("a name taken with another secret: %v, want ErrMigrationConflict naming it", err)
	}
}

// BenchmarkKVAuthenticate measures what the one-second cache saves on
// NATS: an authentication answered by the cache, against one that reads
// the bucket (the hash key, then the name key) every time.
func BenchmarkKVAuthenticate(b *testing.B) {
	reps, _ := MustOpenKVTokens(b, 1, nil)
	ts := reps[0]
	secret, _, err := ts.Create(b.Context(), "bench", RoleViewer, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			if _, err := ts.Authenticate(b.Context(), secret); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("kv", func(b *testing.B) {
		for b.Loop() {
			ts.cache.clear()
			if _, err := ts.Authenticate(b.Context(), secret); err != nil {
				b.Fatal(err)
			}
		}
	})
}
