package auth

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore/sqlite"
)

// MustOpenTokens opens a token table in a temporary SQLite file with a
// clock the test controls.
func MustOpenTokens(tb testing.TB, now *time.Time) *Tokens {
	tb.Helper()
	db, err := sqlite.OpenDB(filepath.Join(tb.TempDir(), "tokens.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	tok, err := NewTokens(context.Background(), db)
	if err != nil {
		tb.Fatal(err)
	}
	tok.Now = func() time.Time { return *now }
	return tok
}

func TestTokens(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	ts := MustOpenTokens(t, &now)

	exp := now.Add(time.Hour)
	secret, tok, err := ts.Create(ctx, "alice", RoleEditor, &exp)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) != len(TokenPrefix)+43 {
		t.Fatalf("secret %q: want plt_ + 43 base64url characters (256 bits)", secret)
	}
	if tok.Name != "alice" || tok.Role != RoleEditor {
		t.Fatalf("token %+v", tok)
	}
	got, err := ts.Authenticate(ctx, secret)
	if err != nil || got.Name != "alice" {
		t.Fatalf("authenticate: %+v %v", got, err)
	}
	// Only the hash is stored.
	var stored string
	if err := ts.store.(*sqliteTokens).db.QueryRow(`SELECT hash FROM tokens WHERE name = 'alice'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored == secret || strings.Contains(stored, secret[4:]) || stored != hashSecret(secret) {
		t.Fatalf("stored %q is not the SHA-256 of the secret", stored)
	}

	for _, bad := range []string{"", "plt_", secret + "x", secret[:len(secret)-1], strings.ToUpper(secret), "Bearer " + secret, stored} {
		if _, err := ts.Authenticate(ctx, bad); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("authenticate %q: %v, want ErrUnauthenticated", bad, err)
		}
	}

	now = exp // expired at its expiry instant
	if _, err := ts.Authenticate(ctx, secret); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("expired token accepted: %v", err)
	}
	now = exp.Add(-2 * time.Hour)

	if err := ts.Revoke(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Authenticate(ctx, secret); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("revoked token accepted: %v", err)
	}
	if err := ts.Revoke(ctx, "alice"); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("second revoke: %v", err)
	}
	if _, _, err := ts.Create(ctx, "alice", RoleViewer, nil); domain.ErrorCode(err) != domain.ECONFLICT {
		t.Fatalf("reused name: %v", err)
	}
	for _, tc := range []struct{ name, role string }{{"", RoleViewer}, {"x y", RoleViewer}, {"ok", "root"}, {strings.Repeat("a", 101), RoleViewer}} {
		if _, _, err := ts.Create(ctx, tc.name, tc.role, nil); domain.ErrorCode(err) != domain.EINVALID {
			t.Errorf("create %q %q: %v, want invalid", tc.name, tc.role, err)
		}
	}
	past := now.Add(-time.Minute)
	if _, _, err := ts.Create(ctx, "bob", RoleViewer, &past); domain.ErrorCode(err) != domain.EINVALID {
		t.Fatalf("expiry in the past: %v", err)
	}
}

func TestRoleTable(t *testing.T) {
	want := map[string][]Permission{
		RoleViewer:  {PermRead},
		RoleAuditor: {PermRead, PermAudit},
		RoleEditor:  {PermRead, PermWrite},
		RoleAdmin:   {PermRead, PermAudit, PermWrite, PermAdmin},
	}
	for _, role := range append(Roles, "", "root") {
		for _, p := range []Permission{PermRead, PermAudit, PermWrite, PermAdmin} {
			exp := false
			for _, q := range want[role] {
				exp = exp || q == p
			}
			if got := Allowed(role, p); got != exp {
				t.Errorf("Allowed(%q, %q) = %v, want %v", role, p, got, exp)
			}
		}
	}
}

// FuzzAuthenticate: no string but the secret itself authenticates.
func FuzzAuthenticate(f *testing.F) {
	now := time.Now().UTC()
	ts := MustOpenTokens(f, &now)
	secret, _, err := ts.Create(context.Background(), "fuzz", RoleViewer, nil)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", "plt_", "plt_AAAA", secret[:10], strings.Repeat("plt_", 100), "plt_\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := ts.Authenticate(context.Background(), s)
		if s == secret {
			if err != nil {
				t.Fatalf("the real secret was refused: %v", err)
			}
			return
		}
		if err == nil || !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("authenticate %q: %+v %v", s, tok, err)
		}
	})
}
