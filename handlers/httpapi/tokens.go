package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/partyledger/partyledger/handlers/auth"
)

func (s *Server) handleTokenCreate(w http.ResponseWriter, r *http.Request) error {
	m, err := readBody(r, "name", "role", "expires_at")
	if err != nil {
		return err
	}
	d := &fieldDecoder{m: m}
	name, role := d.str("name"), d.str("role")
	var exp *time.Time
	if s := d.strPtr("expires_at"); s != nil && *s != "" {
		t, err := time.Parse(time.RFC3339, *s)
		if err != nil {
			d.fail("expires_at", "must be an RFC 3339 time")
		} else {
			exp = &t
		}
	}
	if err := d.err(); err != nil {
		return err
	}
	secret, tok, err := s.Tokens.CreateBy(r.Context(), tokenFrom(r.Context()).Name, name, role, exp)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, struct {
		auth.Token
		Secret string `json:"token"`
	}{tok, secret})
	return nil
}

func (s *Server) handleTokenList(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.Tokens.List(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": ts})
	return nil
}

func (s *Server) handleTokenRevoke(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	actor := tokenFrom(r.Context()).Name
	// The revoked token's webhook subscriptions stop delivering too; each
	// one's history says why, and the token.revoked event lists them.
	var pause func(context.Context) ([]string, error)
	if s.Subscriptions != nil {
		pause = func(ctx context.Context) ([]string, error) {
			return s.Subscriptions.PauseOwnedBy(ctx, name, actor, "paused: the token "+name+" that created it was revoked")
		}
	}
	if err := s.Tokens.RevokeBy(r.Context(), actor, name, pause); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
