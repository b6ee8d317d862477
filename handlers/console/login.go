package console

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/partyledger/partyledger/handlers/auth"
)

type loginPage struct {
	Next  string
	Error string
}

// handleLogin shows the sign-in form (field token).
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) error {
	return s.render(w, r, http.StatusOK, "login", "Sign in", loginPage{Next: safeNext(r.URL.Query().Get("next"))})
}

// handleLoginSubmit turns a valid API token into a session.
func (s *Server) handleLoginSubmit(w http.ResponseWriter, r *http.Request) error {
	if s.NoTokenLogin {
		s.renderError(w, r, http.StatusForbidden, "Sign-in with an API token is turned off here. Use the identity provider.")
		return nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		return s.render(w, r, http.StatusBadRequest, "login", "Sign in", loginPage{Error: "The form could not be read."})
	}
	next := safeNext(r.PostForm.Get("next"))
	tok, err := s.Tokens.Authenticate(r.Context(), strings.TrimSpace(r.PostForm.Get("token")))
	if err != nil {
		if errors.Is(err, auth.ErrUnauthenticated) {
			if s.FailedAuth != nil {
				if ok, wait := s.FailedAuth.FailedAuth(r); !ok {
					w.Header().Set("Retry-After", strconv.Itoa(int(max(1, math.Ceil(wait.Seconds())))))
					return s.render(w, r, http.StatusTooManyRequests, "login", "Sign in",
						loginPage{Next: next, Error: "Too many failed sign-ins from this address. Wait a minute and try again."})
				}
			}
			return s.render(w, r, http.StatusUnauthorized, "login", "Sign in",
				loginPage{Next: next, Error: "This token is not valid: it is unknown, expired or revoked."})
		}
		return err
	}
	if err := s.startSession(w, r, tok); err != nil {
		return err
	}
	s.logger().Info("console: signed in", "actor", tok.Name)
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// handleLogout ends the session.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) error {
	if err := s.Sessions.Delete(r.Context(), userFrom(r.Context()).key); err != nil {
		return err
	}
	s.clearCookie(w)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// safeNext keeps a post-sign-in redirect on this site: a local path only.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n") || strings.HasPrefix(next, "/login") {
		return "/"
	}
	return next
}
