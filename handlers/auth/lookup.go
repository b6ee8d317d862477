package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Lookup returns the token named name if it is active now, or
// ErrUnauthenticated if it is unknown, revoked or expired. Sessions that a
// token started (the web console's) call it on every request, so that
// revoking the token ends them.
func (t *Tokens) Lookup(ctx context.Context, name string) (Token, error) {
	var h string
	tok, err := t.scan(t.db.QueryRowContext(ctx, `SELECT name, role, created_at, expires_at, revoked_at, hash FROM tokens WHERE name = ?`, name), &h)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, ErrUnauthenticated
	}
	if err != nil {
		return Token{}, fmt.Errorf("auth: look up token %s: %w", name, err)
	}
	if !tok.Active(t.now()) {
		return Token{}, ErrUnauthenticated
	}
	return tok, nil
}
