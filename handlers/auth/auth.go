// Package auth keeps the API tokens that authenticate every request and the
// role table that decides what each role may do.
//
// A token is "plt_" followed by 43 base64url characters (256 random bits).
// Only its SHA-256 is stored; the secret is shown once, when it is created.
// A token's name is the actor recorded on every event it writes, so names
// are never reused, not even after revocation.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// Roles, from least to most powerful.
const (
	RoleViewer  = "viewer"
	RoleAuditor = "auditor"
	RoleEditor  = "editor"
	RoleAdmin   = "admin"
)

// Roles lists the valid roles.
var Roles = []string{RoleViewer, RoleAuditor, RoleEditor, RoleAdmin}

// Permission is what a route requires.
type Permission string

// Permissions.
const (
	PermRead  Permission = "read"  // register, parties, changes, reports
	PermAudit Permission = "audit" // audit trail, history, verify, checkpoints, export
	PermWrite Permission = "write" // register writes and management reviews
	PermAdmin Permission = "admin" // tokens and subscriptions
)

// rolePermissions is the single source of truth for access control.
var rolePermissions = map[string][]Permission{
	RoleViewer:  {PermRead},
	RoleAuditor: {PermRead, PermAudit},
	RoleEditor:  {PermRead, PermWrite},
	RoleAdmin:   {PermRead, PermAudit, PermWrite, PermAdmin},
}

// Allowed reports whether role grants perm.
func Allowed(role string, perm Permission) bool {
	return slices.Contains(rolePermissions[role], perm)
}

// TokenPrefix marks partyledger tokens so secret scanners can find leaks.
const TokenPrefix = "plt_"

// Token is a stored token, without its secret.
type Token struct {
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

// Active reports whether the token may be used at now.
func (t Token) Active(now time.Time) bool {
	return t.RevokedAt == nil && (t.ExpiresAt == nil || now.Before(*t.ExpiresAt))
}

// ErrUnauthenticated is returned for a missing, unknown, revoked or expired
// token. Callers must not tell these cases apart to the client.
var ErrUnauthenticated = errors.New("auth: invalid or missing token")

// Tokens keeps the API tokens in a [TokenStore]: the SQLite table of the
// event log's file (so that tokens share its durability) or, when the log
// is on NATS JetStream, a key-value bucket every replica shares. It is safe
// for concurrent use.
type Tokens struct {
	store TokenStore
	Now   func() time.Time

	cache authCache // answers of Authenticate, for at most authCacheTTL
	// Log, if set, receives token.created and token.revoked events, so that
	// who made which token with which role, and who revoked it, is in the
	// audit trail. The secret never is.
	Log TokenLog
	// Actors, if set, is asked whether a new token's name already acts in
	// the log (such as "demo"): such names are refused.
	Actors ActorIndex
}

// NewTokens creates the tokens table in db if needed and keeps tokens
// there.
func NewTokens(ctx context.Context, db *sql.DB) (*Tokens, error) {
	st, err := newSQLiteTokens(ctx, db)
	if err != nil {
		return nil, err
	}
	return &Tokens{store: st}, nil
}

// NewTokensIn keeps tokens in store (such as [NewKVTokenStore]'s).
func NewTokensIn(store TokenStore) *Tokens { return &Tokens{store: store} }

func (t *Tokens) now() time.Time {
	if t.Now != nil {
		return t.Now().UTC()
	}
	return time.Now().UTC()
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$`)

// Create makes a token on behalf of the operator (the first admin at the
// first start, the CLI on the server's machine), like [Tokens.CreateBy]
// but without a token.created event: the operator is not an actor of the
// log. On a shared store the name is still taken once across replicas.
func (t *Tokens) Create(ctx context.Context, name, role string, expiresAt *time.Time) (string, Token, error) {
	return t.create(ctx, "", name, role, expiresAt, false)
}

// CreateBy makes a token, attributed to actor, and returns its secret,
// which is not stored and cannot be shown again. It fails with EINVALID
// for a bad name, role or expiry and ECONFLICT if the name, in any case,
// was ever used for a token or acts in the log.
func (t *Tokens) CreateBy(ctx context.Context, actor, name, role string, expiresAt *time.Time) (string, Token, error) {
	return t.create(ctx, actor, name, role, expiresAt, true)
}

func (t *Tokens) create(ctx context.Context, actor, name, role string, expiresAt *time.Time, record bool) (string, Token, error) {
	var fields []domain.FieldError
	if !nameRE.MatchString(name) {
		fields = append(fields, domain.FieldError{Field: "name", Message: "must be 1-100 characters: letters, digits, . _ @ -, starting with a letter or digit"})
	}
	if !slices.Contains(Roles, role) {
		fields = append(fields, domain.FieldError{Field: "role", Message: "must be one of " + strings.Join(Roles, ", ")})
	}
	now := t.now()
	if expiresAt != nil && !expiresAt.After(now) {
		fields = append(fields, domain.FieldError{Field: "expires_at", Message: "must be in the future"})
	}
	if len(fields) > 0 {
		return "", Token{}, &domain.Error{Code: domain.EINVALID, Message: "invalid token request", Fields: fields}
	}
	if t.Actors != nil {
		acts, err := t.Actors.ActorUsed(ctx, name)
		if err != nil {
			return "", Token{}, fmt.Errorf("auth: create token %s: %w", name, err)
		}
		if acts {
			return "", Token{}, nameTaken(name)
		}
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", Token{}, fmt.Errorf("auth: random: %w", err)
	}
	secret := TokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	tok := Token{Name: name, Role: role, CreatedAt: now, ExpiresAt: expiresAt}
	if expiresAt != nil {
		e := expiresAt.UTC()
		tok.ExpiresAt = &e
	}
	err := t.store.Create(ctx, TokenRecord{Token: tok, Hash: hashSecret(secret)})
	if errors.Is(err, errNameTaken) {
		return "", Token{}, nameTaken(name)
	}
	if err != nil {
		return "", Token{}, err
	}
	if !record {
		return secret, tok, nil
	}
	if err := t.appendTokenEvent(ctx, actor, name, 0, domain.TokenCreated{Name: name, Role: role, ExpiresAt: fmtExpiry(tok.ExpiresAt)}); err != nil {
		// Not in the log, so not made: take the row back.
		_ = t.store.Remove(context.WithoutCancel(ctx), name)
		return "", Token{}, err
	}
	return secret, tok, nil
}

// Authenticate returns the active token whose secret this is, or
// ErrUnauthenticated.
func (t *Tokens) Authenticate(ctx context.Context, secret string) (Token, error) {
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 200 {
		return Token{}, ErrUnauthenticated
	}
	h := hashSecret(secret)
	if tok, ok := t.cache.get(h, t.now()); ok {
		return tok, nil
	}
	rec, err := t.store.ByHash(ctx, h)
	if errors.Is(err, errNoToken) {
		return Token{}, ErrUnauthenticated
	}
	if err != nil {
		return Token{}, err
	}
	tok, stored := rec.Token, rec.Hash
	// The lookup is by hash; compare in constant time anyway so that no
	// branch depends on how much of a guessed secret matched.
	if subtle.ConstantTimeCompare([]byte(stored), []byte(h)) != 1 || !tok.Active(t.now()) {
		return Token{}, ErrUnauthenticated
	}
	t.cache.put(h, tok, t.now())
	return tok, nil
}

// List returns every token ever created, revoked ones included, by name.
func (t *Tokens) List(ctx context.Context) ([]Token, error) {
	recs, err := t.store.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Token, len(recs))
	for i, rec := range recs {
		out[i] = rec.Token
	}
	return out, nil
}

// Count returns how many tokens are active now.
func (t *Tokens) Count(ctx context.Context) (int, error) {
	all, err := t.List(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, tok := range all {
		if tok.Active(t.now()) {
			n++
		}
	}
	return n, nil
}

// Revoke revokes the named token on behalf of the operator (the CLI),
// without a token.revoked event; see [Tokens.RevokeBy].
func (t *Tokens) Revoke(ctx context.Context, name string) error {
	return t.revoke(ctx, name)
}

// RevokeBy revokes the named token, attributed to actor; it takes effect on
// the next request. then, if not nil, runs after the revocation (pausing
// what the token owned) and returns the ids it paused, which the
// token.revoked event lists. It fails with ENOTFOUND if no active token
// has that name. The token stays revoked even if recording the event
// fails; the error says so.
func (t *Tokens) RevokeBy(ctx context.Context, actor, name string, then func(context.Context) ([]string, error)) error {
	if err := t.revoke(ctx, name); err != nil {
		return err
	}
	var paused []string
	if then != nil {
		var err error
		if paused, err = then(ctx); err != nil {
			return err
		}
	}
	if paused == nil {
		paused = []string{}
	}
	return t.appendTokenEvent(ctx, actor, name, eventstore.AnyVersion, domain.TokenRevoked{Name: name, PausedSubscriptions: paused})
}

func (t *Tokens) revoke(ctx context.Context, name string) error {
	defer t.cache.clear() // a revocation here takes effect at once
	return t.store.Revoke(ctx, name, t.now())
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
