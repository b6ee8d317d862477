// Package console serves partyledger's web console: server-rendered pages
// (html/template, embedded with go:embed) for the register, a party's
// history, the clause 9.3.2 c) change feed and management reviews.
//
// # Shape
//
// Every route is in one table ([Server.routes]) with the permission it
// needs, the same [auth.Permission] values as the JSON API. Each page action
// is a small file (party_new.go shows a form, party_create.go takes it);
// form decoding and validation are in form_*.go. Writes go through the same
// command service as the API; reads through the narrow interfaces of
// reads.go.
//
// # Security
//
// Sign-in turns an API token, or an OIDC sign-in at the organisation's
// identity provider ([OIDC]), into a server-side session ([Sessions]); the
// cookie holds only a random identifier. Every request re-checks the token,
// so revoking it ends its sessions. State-changing requests must come from
// the console's own origin ([net/http.CrossOriginProtection]); pages are
// served under a strict Content-Security-Policy with no inline script or
// style, and work without JavaScript.
package console

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/auth"
	"github.com/partyledger/partyledger/handlers/commands"
	"github.com/partyledger/partyledger/handlers/httpapi"
)

// Commands executes register commands (implemented by *commands.Service,
// the API's command service): the one interface declared in package
// commands, which the API shares.
type Commands = commands.RegisterCommands

// Tokens authenticates API tokens (implemented by *auth.Tokens).
type Tokens interface {
	// Authenticate returns the active token with this secret, or
	// auth.ErrUnauthenticated.
	Authenticate(ctx context.Context, secret string) (auth.Token, error)
	// Lookup returns the active token with this name, or
	// auth.ErrUnauthenticated if it was revoked or expired.
	Lookup(ctx context.Context, name string) (auth.Token, error)
}

// Server holds the console's dependencies. Set the fields, then serve
// [Server.Handler].
type Server struct {
	Commands Commands
	Reads    Reads
	Tokens   Tokens
	Sessions Sessions
	// Reports builds the change report for downloads; nil hides the links.
	Reports Reports
	// Audit answers history and as_of; nil hides those parts.
	Audit Audit
	// Plans answers objectives, requirement reviews due and communications;
	// nil turns those pages off.
	Plans Plans
	// AuditTrail is the API's audit trail (event index, log, verify,
	// checkpoints) for /audit; nil turns the page off.
	AuditTrail *httpapi.Audit
	Logger     *slog.Logger
	// Now is the clock; defaults to time.Now.
	Now func() time.Time
	// Secure marks the session cookie Secure (the server runs TLS).
	Secure bool
	// Diagrams draws the relationship map and the power–interest grid;
	// nil turns /diagrams off.
	Diagrams Diagrams
	// FailedAuth limits failed sign-ins per client address (implemented by
	// *httpapi.Server, so the console and the API share one budget); nil
	// does not limit.
	FailedAuth FailedAuthLimiter

	// OIDC, if set, offers sign-in with the organisation's identity
	// provider (oidc.go, oidc_login.go).
	OIDC *OIDC
	// NoTokenLogin hides the API-token field of /login and refuses it.
	NoTokenLogin bool
	// Access records OIDC sign-ins and refusals in the security log.
	Access AccessLog
	// ClientAddr names the client of a request as the API's limits do; nil
	// uses the connection's peer.
	ClientAddr func(*http.Request) string

	// Imports runs spreadsheet imports and the XLSX download (the API's
	// import path); nil turns /import and /register.xlsx off.
	Imports httpapi.Imports

	// Reminders lists owner contacts and sets them: the API's reminders
	// service, so /owners goes through the same call, validation and
	// permission (admin) as PUT /api/v1/owners/{name}. nil turns /owners
	// off.
	Reminders httpapi.Reminders
	// ReminderLog gives the dashboard the failed and the last sent reminder
	// digests; nil hides them.
	ReminderLog ReminderLog
}

// FailedAuthLimiter counts a failed sign-in of r against its client's
// budget and reports whether the client may still be told "not valid"
// (true) or must be refused with 429 for retryAfter (false).
type FailedAuthLimiter interface {
	FailedAuth(r *http.Request) (ok bool, retryAfter time.Duration)
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// route is one page route: the single place that says which permission
// each page needs ("" = open, such as the sign-in form).
type route struct {
	method, path string
	perm         auth.Permission
	handle       func(w http.ResponseWriter, r *http.Request) error
}

func (s *Server) routes() []route {
	rts := []route{
		{"GET", "/login", "", s.handleLogin},
		{"POST", "/login", "", s.handleLoginSubmit},
		{"POST", "/logout", auth.PermRead, s.handleLogout},
		{"GET", "/static/{file}", "", s.handleStatic},
		{"GET", "/login/oidc", "", s.handleOIDCStart},
		{"GET", "/login/oidc/callback", "", s.handleOIDCCallback},

		{"GET", "/{$}", auth.PermRead, s.handleDashboard},
		{"GET", "/register", auth.PermRead, s.handleRegister},
		{"GET", "/register.csv", auth.PermRead, s.handleRegisterCSV},
		{"GET", "/parties/new", auth.PermWrite, s.handlePartyNew},
		{"POST", "/parties", auth.PermWrite, s.handlePartyCreate},
		{"GET", "/parties/{id}", auth.PermRead, s.handlePartyShow},
		{"GET", "/parties/{id}/edit", auth.PermWrite, s.handlePartyEdit},
		{"POST", "/parties/{id}", auth.PermWrite, s.handlePartyUpdate},
		{"POST", "/parties/{id}/retire", auth.PermWrite, s.handlePartyRetire},
		{"GET", "/parties/{id}/requirements/new", auth.PermWrite, s.handleRequirementNew},
		{"POST", "/parties/{id}/requirements", auth.PermWrite, s.handleRequirementCreate},
		{"GET", "/parties/{id}/requirements/{rid}/edit", auth.PermWrite, s.handleRequirementEdit},
		{"POST", "/parties/{id}/requirements/{rid}", auth.PermWrite, s.handleRequirementUpdate},
		{"POST", "/parties/{id}/requirements/{rid}/addressing", auth.PermWrite, s.handleAddressingDecide},
		{"POST", "/parties/{id}/requirements/{rid}/retire", auth.PermWrite, s.handleRequirementRetire},
		{"GET", "/changes", auth.PermRead, s.handleChanges},
		{"GET", "/changes/report", auth.PermRead, s.handleReportDownload},
		{"GET", "/reviews", auth.PermRead, s.handleReviews},
		{"POST", "/reviews", auth.PermWrite, s.handleReviewCreate},
		{"GET", "/live", auth.PermRead, s.handleLive},
		{"GET", "/audit", auth.PermAudit, s.handleAudit},
		{"GET", "/objectives", auth.PermRead, s.handleObjectives},
		{"GET", "/reviews/due", auth.PermRead, s.handleReviewsDue},
		{"GET", "/communications", auth.PermRead, s.handleCommunications},
		{"GET", "/diagrams/relationships", auth.PermRead, s.handleDiagramRelationships},
		{"GET", "/diagrams/power-interest", auth.PermRead, s.handleDiagramPowerInterest},
	}
	if s.Reminders != nil {
		rts = append(rts,
			route{"GET", "/owners", auth.PermRead, s.handleOwners},
			route{"POST", "/owners", auth.PermAdmin, s.handleOwnerContactsSet})
	}
	if s.Imports != nil {
		rts = append(rts,
			route{"GET", "/import", auth.PermWrite, s.handleImportForm},
			route{"POST", "/import", auth.PermWrite, s.handleImport},
			route{"GET", "/register.xlsx", auth.PermRead, s.handleRegisterXLSX})
	}
	return rts
}

// Handler returns the console's handler: security headers on every
// response, cross-origin protection on every state-changing request, then
// the route table.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		mux.Handle(rt.method+" "+rt.path, s.wrap(rt))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, http.StatusNotFound, "There is no page at this address.")
	})
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.logger().Warn("console: cross-origin request refused", "method", r.Method, "path", r.URL.Path,
			"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
		s.renderError(w, r, http.StatusForbidden, "This request came from another site and was refused.")
	}))
	return securityHeaders(cop.Handler(mux))
}

// csp allows nothing inline: scripts and styles come from the console's own
// /static/ files only.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

type ctxKey struct{}

// userFrom returns the signed-in user of the request.
func userFrom(ctx context.Context) User {
	u, _ := ctx.Value(ctxKey{}).(User)
	return u
}

// wrap resolves the session for routes that need one, checks the role,
// runs the handler and renders any error as a page.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt.perm != "" {
			u, ok := s.currentUser(w, r)
			if !ok {
				if r.Method == http.MethodGet {
					http.Redirect(w, r, "/login?next="+safeNext(r.URL.RequestURI()), http.StatusSeeOther)
					return
				}
				s.renderError(w, r, http.StatusUnauthorized, "Your session has ended. Sign in again.")
				return
			}
			if !auth.Allowed(u.Role, rt.perm) {
				r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, u))
				s.renderError(w, r, http.StatusForbidden, "Your role ("+u.Role+") may not do this.")
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, u))
		}
		if err := rt.handle(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// writeError renders an error that a handler returned, with the status the
// API would give it. Internal details are logged, never shown.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var de *domain.Error
	status, msg := http.StatusInternalServerError, "Something went wrong on the server. Try again; if it persists, tell the administrator."
	if errors.As(err, &de) {
		switch de.Code {
		case domain.ENOTFOUND:
			status, msg = http.StatusNotFound, de.Error()
		case domain.EINVALID:
			status, msg = http.StatusUnprocessableEntity, de.Error()
		case domain.ECONFLICT:
			status, msg = http.StatusConflict, de.Error()
		case domain.EPRECONDITION:
			status, msg = http.StatusPreconditionFailed, de.Error()
		case domain.EFORBIDDEN:
			status, msg = http.StatusForbidden, de.Error()
		}
	}
	if status == http.StatusInternalServerError {
		s.logger().Error("console: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	s.renderError(w, r, status, msg)
}
