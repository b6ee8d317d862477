package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/partyledger/partyledger/handlers/auth"
)

// SessionInfo describes one signed-in web console session to an
// administrator. It carries no secret: its ID names the session but does
// not sign anyone in.
type SessionInfo struct {
	ID        string    `json:"id"`
	Actor     string    `json:"actor"`  // the name its changes are recorded under (oidc:<email> for OIDC)
	Role      string    `json:"role"`   // the role at sign-in (a token session follows its token's role)
	Method    string    `json:"method"` // token | oidc
	CreatedAt time.Time `json:"created_at"`
	LastSeen  time.Time `json:"last_seen"`
}

// ConsoleSessions lists and ends the web console's sessions (implemented by
// console.SessionAdmin). Implementations must be safe for concurrent use.
type ConsoleSessions interface {
	// ListSessions returns the live sessions, oldest first.
	ListSessions(ctx context.Context) ([]SessionInfo, error)
	// EndSession ends the session with this ID and returns it; it fails
	// with ENOTFOUND if there is none.
	EndSession(ctx context.Context, id string) (SessionInfo, error)
}

func (s *Server) sessionRoutes() []route {
	if s.Sessions == nil {
		return nil
	}
	return []route{
		{"GET", "/api/v1/sessions", auth.PermAdmin, s.handleSessionList},
		{"DELETE", "/api/v1/sessions/{id}", auth.PermAdmin, s.handleSessionEnd},
	}
}

// handleSessionList answers the live console sessions.
func (s *Server) handleSessionList(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Sessions.ListSessions(r.Context())
	if err != nil {
		return err
	}
	if list == nil {
		list = []SessionInfo{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions": list})
	return nil
}

// handleSessionEnd ends one console session: its next request is sent to
// the sign-in page.
func (s *Server) handleSessionEnd(w http.ResponseWriter, r *http.Request) error {
	ended, err := s.Sessions.EndSession(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	s.logger().Info("console session ended by an administrator", "admin", tokenFrom(r.Context()).Name,
		"actor", ended.Actor, "session", ended.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ClientAddr is the address a request came from, as the security log and
// the limits see it (forwarding headers count only from trusted proxies).
func (s *Server) ClientAddr(r *http.Request) string { return s.clientAddr(r) }
