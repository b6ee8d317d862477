package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/partyledger/partyledger/handlers/auth"
)

// Session lifetimes: a session ends after IdleTimeout without a request,
// and at the latest MaxAge after sign-in.
const (
	IdleTimeout = 8 * time.Hour
	MaxAge      = 7 * 24 * time.Hour
)

// cookieName is the session cookie. The __Host- prefix (under TLS) pins it
// to this origin and path /.
const (
	cookieName       = "partyledger_session"
	secureCookieName = "__Host-partyledger_session"
)

// Session is a signed-in browser. Only the hash of its identifier is kept:
// a leaked session table does not sign anyone in.
type Session struct {
	// ID names the session to an administrator (GET/DELETE
	// /api/v1/sessions). It is random and unrelated to the cookie: knowing
	// it signs nobody in.
	ID string
	// Actor is the name written on the events this session causes: the
	// API token's name, or "oidc:" and the person's verified e-mail address
	// (or subject) for an OIDC sign-in.
	Actor string
	// Role is the role at sign-in; the token's current role is re-read on
	// every request.
	Role string
	// Method is how the session was started: "token" (an API token) or
	// "oidc" (the organisation's identity provider). An OIDC session keeps
	// the role mapped at sign-in; a token session re-reads its token's.
	Method    string
	CreatedAt time.Time
	LastSeen  time.Time
}

// ErrNoSession is returned by [Sessions.Get] for an unknown or ended session.
var ErrNoSession = errors.New("console: no such session")

// Sessions stores console sessions by the SHA-256 of their identifier. The
// in-memory [MemorySessions] serves one process; a shared store (JetStream
// KV) serves replicas. Implementations must be safe for concurrent use.
type Sessions interface {
	// Put stores or replaces the session with this key.
	Put(ctx context.Context, key string, s Session) error
	// Get returns the session, or ErrNoSession.
	Get(ctx context.Context, key string) (Session, error)
	// Delete ends the session; deleting an unknown key is not an error.
	Delete(ctx context.Context, key string) error
	// List returns the live sessions by key.
	List(ctx context.Context) (map[string]Session, error)
}

// MemorySessions keeps sessions in this process's memory. Expired sessions
// are dropped when read and swept on writes.
type MemorySessions struct {
	mu sync.Mutex
	m  map[string]Session
	// Now is the clock; defaults to time.Now.
	Now func() time.Time
}

func (m *MemorySessions) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// Put implements [Sessions].
func (m *MemorySessions) Put(_ context.Context, key string, s Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string]Session{}
	}
	now := m.now()
	for k, v := range m.m {
		if expired(v, now) {
			delete(m.m, k)
		}
	}
	m.m[key] = s
	return nil
}

// Get implements [Sessions].
func (m *MemorySessions) Get(_ context.Context, key string) (Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.m[key]
	if !ok {
		return Session{}, ErrNoSession
	}
	if expired(s, m.now()) {
		delete(m.m, key)
		return Session{}, ErrNoSession
	}
	return s, nil
}

// Delete implements [Sessions].
func (m *MemorySessions) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, key)
	return nil
}

// List implements [Sessions].
func (m *MemorySessions) List(_ context.Context) (map[string]Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	out := make(map[string]Session, len(m.m))
	for k, v := range m.m {
		if !expired(v, now) {
			out[k] = v
		}
	}
	return out, nil
}

// expired reports whether s has been idle too long or lived too long.
func expired(s Session, now time.Time) bool {
	return now.Sub(s.LastSeen) >= IdleTimeout || now.Sub(s.CreatedAt) >= MaxAge
}

// User is the signed-in user of a request.
type User struct {
	Name string
	Role string
	key  string
}

// CanWrite reports whether the user may change the register.
func (u User) CanWrite() bool { return auth.Allowed(u.Role, auth.PermWrite) }

// CanAudit reports whether the user may read the audit trail.
func (u User) CanAudit() bool { return auth.Allowed(u.Role, auth.PermAudit) }

func newSessionID() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func sessionKey(id string) string {
	h := sha256.Sum256([]byte(id))
	return hex.EncodeToString(h[:])
}

func (s *Server) cookieName() string {
	if s.Secure {
		return secureCookieName
	}
	return cookieName
}

// startSession stores a new session for tok and sets its cookie.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, tok auth.Token) error {
	return s.startSessionAs(w, r, Session{Actor: tok.Name, Role: tok.Role, Method: "token"})
}

// startSessionAs stores a new session for sess's actor, role and method
// and sets its cookie.
func (s *Server) startSessionAs(w http.ResponseWriter, r *http.Request, sess Session) error {
	id, err := newSessionID()
	if err != nil {
		return err
	}
	if sess.ID, err = newSessionID(); err != nil {
		return err
	}
	sess.ID = sess.ID[:22]
	now := s.now()
	sess.CreatedAt, sess.LastSeen = now, now
	if err := s.Sessions.Put(r.Context(), sessionKey(id), sess); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: id, Path: "/", HttpOnly: true,
		Secure: s.Secure, SameSite: http.SameSiteLaxMode, MaxAge: int(MaxAge / time.Second)})
	return nil
}

func (s *Server) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: "", Path: "/", HttpOnly: true,
		Secure: s.Secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// currentUser resolves the session cookie. It ends the session when it has
// expired or its token was revoked, and refreshes its idle timer.
func (s *Server) currentUser(w http.ResponseWriter, r *http.Request) (User, bool) {
	c, err := r.Cookie(s.cookieName())
	if err != nil || c.Value == "" || len(c.Value) > 100 {
		return User{}, false
	}
	ctx := r.Context()
	key := sessionKey(c.Value)
	sess, err := s.Sessions.Get(ctx, key)
	if err != nil {
		if !errors.Is(err, ErrNoSession) {
			s.logger().Error("console: read session", "err", err)
		}
		s.clearCookie(w)
		return User{}, false
	}
	now := s.now()
	if expired(sess, now) {
		_ = s.Sessions.Delete(ctx, key)
		s.clearCookie(w)
		return User{}, false
	}
	role := sess.Role
	if sess.Method == "token" {
		tok, err := s.Tokens.Lookup(ctx, sess.Actor)
		if err != nil {
			if errors.Is(err, auth.ErrUnauthenticated) {
				_ = s.Sessions.Delete(ctx, key)
				s.clearCookie(w)
			} else {
				s.logger().Error("console: check session token", "err", err)
			}
			return User{}, false
		}
		role = tok.Role
	}
	if now.Sub(sess.LastSeen) > time.Minute {
		sess.LastSeen = now
		if err := s.Sessions.Put(ctx, key, sess); err != nil {
			s.logger().Error("console: refresh session", "err", err)
		}
	}
	return User{Name: sess.Actor, Role: role, key: key}, true
}
