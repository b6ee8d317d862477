// Package httpapi serves partyledger's JSON API under /api/v1: commands on
// the register, queries of the read models, and token management. Errors are
// RFC 9457 problem details with a stable code; bad input never writes.
package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/auth"
	"github.com/partyledger/partyledger/handlers/commands"
	"github.com/partyledger/partyledger/projections"
)

// Commands executes register commands (implemented by *commands.Service):
// the one interface declared in package commands, which the console
// shares.
type Commands = commands.RegisterCommands

// ReadModel answers queries (implemented by *projections.ReadModel).
type ReadModel interface {
	Party(ctx context.Context, id string) (projections.PartyView, error)
	Parties(ctx context.Context, f projections.PartyFilter) ([]projections.PartyView, error)
	Register(ctx context.Context, f projections.PartyFilter) ([]projections.PartyView, error)
	Reviews(ctx context.Context) ([]projections.ReviewView, error)
	Review(ctx context.Context, id string) (projections.ReviewView, error)
	LastReview(ctx context.Context) (projections.ReviewView, bool, error)
	Changes(ctx context.Context, w projections.Window) ([]projections.ChangeItem, error)
	Checkpoint(ctx context.Context) (int64, error)
	WaitFor(ctx context.Context, position int64) error
	// Paged, streamed reads (pages.go).
	EachParty(ctx context.Context, f projections.PartyFilter, pg projections.Page, fn func(projections.PartyView) error) (projections.Cursor, error)
	EachRegisterParty(ctx context.Context, f projections.PartyFilter, pg projections.Page, fn func(projections.PartyView) error) (projections.Cursor, error)
	EachChange(ctx context.Context, w projections.Window, fn func(projections.ChangeItem) error) error
	NetPage(ctx context.Context, w projections.Window, offset, limit int) ([]projections.NetItem, int, error)
}

// Tokens authenticates and manages API tokens (implemented by *auth.Tokens).
type Tokens interface {
	Authenticate(ctx context.Context, secret string) (auth.Token, error)
	CreateBy(ctx context.Context, actor, name, role string, expiresAt *time.Time) (string, auth.Token, error)
	List(ctx context.Context) ([]auth.Token, error)
	RevokeBy(ctx context.Context, actor, name string, then func(context.Context) ([]string, error)) error
}

// Head reports the last position of the event log.
type Head interface {
	Head(ctx context.Context) (position int64, hash string, err error)
}

// Server holds the API's dependencies. Create it with its fields set, then
// serve [Server.Handler].
type Server struct {
	Commands Commands
	Reads    ReadModel
	Tokens   Tokens
	Log      Head
	Logger   *slog.Logger
	// Access records denied requests (the security log); nil records nothing.
	Access AccessLog
	// Limits are the rate limits; see [DefaultLimits].
	Limits Limits
	// TrustedProxies are the proxies whose X-Forwarded-For / Forwarded
	// headers name the client (see clientAddr); empty trusts none.
	TrustedProxies []netip.Prefix

	tokenLim, authLim *limiters
	streams           streamSlots // open live streams per token (streamlimit.go)

	// Feature dependencies: one field per line, each feature declaring its
	// own narrow interface in its own file. Nil disables the feature's routes.
	Audit         *Audit        // the audit trail, history, as_of, verify, checkpoints (audit.go)
	Subscriptions Subscriptions // webhook subscriptions (subscriptions.go)
	Stream        ChangeStream  // live change stream, GET /api/v1/stream (stream.go)
	Objectives    Objectives    // objectives, KPIs, requirement reviews, communications (objectives.go)
	Reports       Reports       // change report, GET /api/v1/reports/changes (reports.go)
	Relationships Relationships // relationships and the diagrams (relationships.go)
	ReviewOutputs ReviewOutputs // review corrections, voids, actions, settings (review_outputs.go)
	Reminders     Reminders     // owner contacts and reminder digests (reminders.go)

	// Sessions are the web console's sessions, GET/DELETE /api/v1/sessions (sessions.go).
	Sessions ConsoleSessions
	Imports  Imports // spreadsheet import and the XLSX register (imports.go)

	// Consistency configures X-Min-Position and /readyz (consistency.go).
	Consistency Consistency
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// route is one entry of the route table: the single place that says which
// permission each endpoint needs.
type route struct {
	method, path string
	perm         auth.Permission // "" = no authentication (health checks)
	handle       func(http.ResponseWriter, *http.Request) error
}

func (s *Server) routes() []route {
	rts := s.coreRoutes()
	// Feature route groups, one line each, each defined in its feature's file.
	rts = append(rts, s.auditRoutes()...)
	rts = append(rts, s.accessRoutes()...)
	rts = append(rts, s.subscriptionRoutes()...)
	rts = append(rts, s.streamRoutes()...)
	rts = append(rts, s.objectiveRoutes()...)
	rts = append(rts, s.reportRoutes()...)
	rts = append(rts, s.apiDocRoutes()...)
	rts = append(rts, s.relationshipRoutes()...)
	rts = append(rts, s.reviewOutputRoutes()...)
	rts = append(rts, s.reminderRoutes()...)
	rts = append(rts, s.sessionRoutes()...)
	rts = append(rts, s.importRoutes()...)
	return rts
}

func (s *Server) coreRoutes() []route {
	return []route{
		{"GET", "/healthz", "", s.handleHealth},
		{"GET", "/readyz", "", s.handleReady},

		{"POST", "/api/v1/parties", auth.PermWrite, s.handlePartyCreate},
		{"GET", "/api/v1/parties", auth.PermRead, s.handlePartyList},
		{"GET", "/api/v1/parties/{id}", auth.PermRead, s.handlePartyGet},
		{"PATCH", "/api/v1/parties/{id}", auth.PermWrite, s.handlePartyRevise},
		{"POST", "/api/v1/parties/{id}/retire", auth.PermWrite, s.handlePartyRetire},
		{"GET", "/api/v1/parties/{id}/requirements", auth.PermRead, s.handleRequirementList},
		{"POST", "/api/v1/parties/{id}/requirements", auth.PermWrite, s.handleRequirementCreate},
		{"GET", "/api/v1/parties/{id}/requirements/{rid}", auth.PermRead, s.handleRequirementGet},
		{"PATCH", "/api/v1/parties/{id}/requirements/{rid}", auth.PermWrite, s.handleRequirementRevise},
		{"POST", "/api/v1/parties/{id}/requirements/{rid}/retire", auth.PermWrite, s.handleRequirementRetire},
		{"POST", "/api/v1/parties/{id}/requirements/{rid}/addressing", auth.PermWrite, s.handleAddressingDecide},
		{"GET", "/api/v1/register", auth.PermRead, s.handleRegister},
		{"POST", "/api/v1/management-reviews", auth.PermWrite, s.handleReviewCreate},
		{"GET", "/api/v1/management-reviews", auth.PermRead, s.handleReviewList},
		{"GET", "/api/v1/management-reviews/{id}", auth.PermRead, s.handleReviewGet},
		{"GET", "/api/v1/changes", auth.PermRead, s.handleChanges},

		{"POST", "/api/v1/tokens", auth.PermAdmin, s.handleTokenCreate},
		{"GET", "/api/v1/tokens", auth.PermAdmin, s.handleTokenList},
		{"DELETE", "/api/v1/tokens/{name}", auth.PermAdmin, s.handleTokenRevoke},
	}
}

// Handler returns the HTTP handler with every route registered. Unknown
// paths answer 404 and known paths with another method 405, both as
// problem details.
func (s *Server) Handler() http.Handler {
	s.tokenLim = newLimiters(s.Limits.PerToken, s.Limits.PerTokenBurst)
	s.authLim = newLimiters(s.Limits.FailedAuth, s.Limits.FailedAuthBurst)
	mux := http.NewServeMux()
	methods := map[string][]string{}
	for _, rt := range s.routes() {
		mux.Handle(rt.method+" "+rt.path, s.wrap(rt))
		methods[rt.path] = append(methods[rt.path], rt.method)
	}
	for path, ms := range methods {
		allow := strings.Join(ms, ", ")
		if contains(ms, "GET") {
			allow += ", HEAD"
		}
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			setSecurityHeaders(w, r, false)
			w.Header().Set("Allow", allow)
			s.writeError(w, r, problemf(codeMethodNotAllowed, r.Method+" is not allowed here; use "+allow))
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w, r, false)
		s.writeError(w, r, problemf(domain.ENOTFOUND, "no such endpoint: "+r.URL.Path))
	})
	return mux
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

type ctxKey struct{}

// tokenFrom returns the authenticated token of the request.
func tokenFrom(ctx context.Context) auth.Token {
	t, _ := ctx.Value(ctxKey{}).(auth.Token)
	return t
}

// wrap authenticates and authorises the request, runs the handler, writes
// any error as a problem and logs one line (never the token).
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		setSecurityHeaders(sw, r, rt.perm != "")
		var err error
		actor := ""
		if rt.perm != "" {
			var tok auth.Token
			tok, err = s.authorize(sw, r, rt.perm)
			actor = tok.Name
			if err == nil {
				r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, tok))
			}
		}
		if err == nil {
			err = checkRequest(r)
		}
		if err == nil && rt.perm != "" {
			err = s.awaitMinPosition(sw, r)
		}
		if err == nil && rt.perm != "" && isWrite(r.Method) {
			ctx, note := withPositionNote(r.Context())
			r = r.WithContext(ctx)
			sw.beforeHeader = s.positionHeader(r, note)
		}
		if err == nil {
			err = rt.handle(sw, r)
		}
		if err != nil {
			if sw.status == 0 {
				s.writeError(sw, r, err)
			} else {
				s.logger().Error("request failed after the response started", "err", err)
			}
		}
		// The access line is at debug: at info, under load, it costs more
		// than the request. Failures are logged at error by writeError.
		s.logger().LogAttrs(r.Context(), slog.LevelDebug, "http",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", sw.status), slog.String("actor", actor),
			slog.Duration("took", time.Since(start)))
	})
}

// authorize authenticates the request and checks the role, the per-client
// failed-authentication limit and the per-token rate limit. Every denial is
// recorded in the security log. The token is checked first: the
// failed-authentication limit counts and refuses only requests that fail
// to authenticate, so it never blocks a valid token.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, perm auth.Permission) (auth.Token, error) {
	client := s.clientAddr(r)
	deny := func(tok auth.Token, outcome string, err *domain.Error) (auth.Token, error) {
		s.recordDenial(r, client, tok.Name, outcome, statuses[err.Code])
		return tok, err
	}
	tok, err := s.authenticate(r)
	if err != nil {
		var de *domain.Error
		if errors.As(err, &de) && de.Code == codeUnauthorized {
			if ok, wait := s.authLim.allow(client); !ok {
				setRetryAfter(w, wait)
				return deny(auth.Token{}, "auth_rate_limited", problemf(codeRateLimited, "too many failed authentications from this address; retry later"))
			}
			return deny(auth.Token{}, "unauthenticated", de)
		}
		return tok, err
	}
	if !auth.Allowed(tok.Role, perm) {
		return deny(tok, "forbidden", problemf(domain.EFORBIDDEN, "role "+tok.Role+" may not do this (needs "+string(perm)+")"))
	}
	if ok, wait := s.tokenLim.allow(tok.Name); !ok {
		setRetryAfter(w, wait)
		return deny(tok, "rate_limited", problemf(codeRateLimited, "too many requests for this token; retry later"))
	}
	return tok, nil
}

// recordDenial writes the security log entry on a detached context: the
// record must be kept even if the client has gone.
func (s *Server) recordDenial(r *http.Request, client, actor, outcome string, status int) {
	if s.Access == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	err := s.Access.Record(ctx, auth.AccessEntry{Client: client, Actor: actor, Method: r.Method,
		Path: r.URL.Path, Outcome: outcome, Status: status})
	if err != nil {
		s.logger().Error("security log: could not record a denial", "err", err)
	}
}

func (s *Server) authenticate(r *http.Request) (auth.Token, error) {
	h := r.Header.Get("Authorization")
	scheme, secret, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || secret == "" {
		return auth.Token{}, problemf(codeUnauthorized, "send Authorization: Bearer <token>")
	}
	tok, err := s.Tokens.Authenticate(r.Context(), strings.TrimSpace(secret))
	if err != nil {
		if errors.Is(err, auth.ErrUnauthenticated) {
			return auth.Token{}, problemf(codeUnauthorized, "the token is invalid, expired or revoked")
		}
		return auth.Token{}, err
	}
	return tok, nil
}

type statusWriter struct {
	http.ResponseWriter
	status int
	// beforeHeader, if set, runs once just before the header is sent.
	beforeHeader func(http.ResponseWriter, int)
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		if w.beforeHeader != nil {
			w.beforeHeader(w.ResponseWriter, code)
		}
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		if w.beforeHeader != nil {
			w.beforeHeader(w.ResponseWriter, http.StatusOK)
		}
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets streaming handlers flush through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController access to the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// RouteInfo describes one route of the table: for documentation and for the
// role-matrix test.
type RouteInfo struct {
	Method, Path string
	Perm         auth.Permission // "" for unauthenticated routes
}

// Routes returns the route table as the server registers it.
func (s *Server) Routes() []RouteInfo {
	var out []RouteInfo
	for _, rt := range s.routes() {
		out = append(out, RouteInfo{Method: rt.method, Path: rt.path, Perm: rt.perm})
	}
	return out
}
