package httpapi

import (
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
	secret, tok, err := s.Tokens.Create(r.Context(), name, role, exp)
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
	if err := s.Tokens.Revoke(r.Context(), name); err != nil {
		return err
	}
	// The revoked token's webhook subscriptions stop delivering too; each
	// one's history says why.
	if s.Subscriptions != nil {
		if _, err := s.Subscriptions.PauseOwnedBy(r.Context(), name, tokenFrom(r.Context()).Name, "paused: the token "+name+" that created it was revoked"); err != nil {
			return err
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
