package auth

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestAuthCacheRevocation: a revocation through this Tokens takes effect
// at once; one through another (another process on the same file) within
// authCacheTTL, while the cache keeps the query off the hot path.
func TestAuthCacheRevocation(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	ts := MustOpenTokens(t, &now)
	other := &Tokens{store: ts.store, Now: ts.Now}

	secret, _, err := ts.Create(ctx, "alice", RoleEditor, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Authenticate(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if err := other.Revoke(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Authenticate(ctx, secret); err != nil {
		t.Errorf("within the cache time, the cached answer stands: %v", err)
	}
	now = now.Add(authCacheTTL)
	if _, err := ts.Authenticate(ctx, secret); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("%s after another process revoked it: err = %v, want ErrUnauthenticated", authCacheTTL, err)
	}

	secret, _, err = ts.Create(ctx, "bob", RoleEditor, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Authenticate(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if err := ts.Revoke(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Authenticate(ctx, secret); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("right after this process revoked it: err = %v, want ErrUnauthenticated", err)
	}
}
