package auth

import (
	"context"
	"errors"
	"fmt"
)

// Lookup returns the token named name if it is active now, or
// ErrUnauthenticated if it is unknown, revoked or expired. Sessions that a
// token started (the web console's) call it on every request, so that
// revoking the token ends them.
func (t *Tokens) Lookup(ctx context.Context, name string) (Token, error) {
	rec, err := t.store.ByName(ctx, name)
	if errors.Is(err, errNoToken) {
		return Token{}, ErrUnauthenticated
	}
	if err != nil {
		return Token{}, fmt.Errorf("auth: look up token %s: %w", name, err)
	}
	if !rec.Active(t.now()) {
		return Token{}, ErrUnauthenticated
	}
	return rec.Token, nil
}
