package console

import (
	"context"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/partyledger/partyledger/handlers/auth"
)

// AccessLog records sign-ins and refused sign-ins in the security log
// (implemented by *auth.AccessLog).
type AccessLog interface {
	Record(ctx context.Context, e auth.AccessEntry) error
}

// Security log outcomes of the OIDC sign-in.
const (
	OutcomeOIDCSignedIn = "oidc_signed_in"
	OutcomeOIDCRefused  = "oidc_refused"
)

// flowCookie binds a sign-in in progress to the browser that started it:
// a state captured elsewhere does not complete in another browser.
const flowCookie = "partyledger_oidc"

// handleOIDCStart starts the authorization code flow: a fresh state, nonce
// and PKCE verifier, remembered server-side, then a redirect to the
// provider.
func (s *Server) handleOIDCStart(w http.ResponseWriter, r *http.Request) error {
	if s.OIDC == nil {
		s.renderError(w, r, http.StatusNotFound, "Sign-in with an identity provider is not configured.")
		return nil
	}
	state, err := newSessionID()
	if err != nil {
		return err
	}
	nonce, err := newSessionID()
	if err != nil {
		return err
	}
	binding, err := newSessionID()
	if err != nil {
		return err
	}
	redirect := s.OIDC.cfg.RedirectURL
	if redirect == "" {
		scheme := "http"
		if s.Secure || r.TLS != nil {
			scheme = "https"
		}
		redirect = scheme + "://" + r.Host + "/login/oidc/callback"
	}
	verifier := oauth2.GenerateVerifier()
	now := s.now()
	f := flow{binding: sessionKey(binding), nonce: nonce, verifier: verifier, redirect: redirect,
		next: safeNext(r.URL.Query().Get("next")), expires: now.Add(FlowTTL)}
	if err := s.OIDC.flows.put(r.Context(), state, f, now); err != nil {
		if errors.Is(err, errTooManyFlows) {
			s.renderError(w, r, http.StatusServiceUnavailable, "Too many sign-ins are in progress. Try again in a few minutes.")
			return nil
		}
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Value: binding, Path: "/login/oidc", HttpOnly: true,
		Secure: s.Secure, SameSite: http.SameSiteLaxMode, MaxAge: int(FlowTTL / time.Second)})
	u := s.OIDC.oauth2Config(redirect).AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
	http.Redirect(w, r, u, http.StatusFound)
	return nil
}

// handleOIDCCallback completes the flow: the state must be one this
// browser started and not yet used, the provider must accept the code,
// and the ID token must verify and carry the flow's nonce. The person
// then gets a session with the highest role the role map gives them, or a
// page that says why they were refused.
func (s *Server) handleOIDCCallback(w http.ResponseWriter, r *http.Request) error {
	if s.OIDC == nil {
		s.renderError(w, r, http.StatusNotFound, "Sign-in with an identity provider is not configured.")
		return nil
	}
	q := r.URL.Query()
	refuse := func(status int, actor, reason, msg string, err error) error {
		s.logger().Warn("console: oidc sign-in refused", "reason", reason, "actor", actor, "err", err)
		s.recordAccess(r, actor, OutcomeOIDCRefused, status)
		s.renderError(w, r, status, msg)
		return nil
	}
	state := q.Get("state")
	if state == "" {
		return refuse(http.StatusBadRequest, "", "missing state", "This sign-in answer has no state. Start the sign-in again from the sign-in page.", nil)
	}
	f, ok := s.OIDC.flows.take(r.Context(), state, s.now())
	if !ok {
		return refuse(http.StatusBadRequest, "", "unknown state",
			"This sign-in answer is unknown, has expired or was already used. Start the sign-in again from the sign-in page.", nil)
	}
	c, err := r.Cookie(flowCookie)
	if err != nil || subtle.ConstantTimeCompare([]byte(sessionKey(c.Value)), []byte(f.binding)) != 1 {
		return refuse(http.StatusBadRequest, "", "state of another browser",
			"This sign-in was not started in this browser. Start the sign-in again from the sign-in page.", nil)
	}
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Value: "", Path: "/login/oidc", HttpOnly: true,
		Secure: s.Secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	if e := q.Get("error"); e != "" {
		return refuse(http.StatusBadRequest, "", "provider error "+e,
			"The identity provider did not sign you in ("+e+"). Start the sign-in again, or ask your administrator.", nil)
	}
	code := q.Get("code")
	if code == "" {
		return refuse(http.StatusBadRequest, "", "missing code", "This sign-in answer has no code. Start the sign-in again from the sign-in page.", nil)
	}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	tok, err := s.OIDC.oauth2Config(f.redirect).Exchange(ctx, code, oauth2.VerifierOption(f.verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return refuse(http.StatusBadRequest, "", "code refused", "The identity provider refused this sign-in code. Start the sign-in again.", err)
		}
		return refuse(http.StatusBadGateway, "", "provider unreachable", "The identity provider could not be reached. Try again later.", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return refuse(http.StatusBadRequest, "", "no id token", "The identity provider sent no ID token.", nil)
	}
	idt, err := s.OIDC.verifier.Verify(ctx, raw)
	if err != nil {
		return refuse(http.StatusBadRequest, "", "id token invalid",
			"The identity provider's ID token did not verify (issuer, audience, expiry or signature). Start the sign-in again.", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.nonce)) != 1 {
		return refuse(http.StatusBadRequest, "", "nonce mismatch", "The ID token was not issued for this sign-in. Start the sign-in again.", nil)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return refuse(http.StatusBadRequest, "", "claims unreadable", "The ID token's claims could not be read.", err)
	}
	id := s.OIDC.identify(idt.Subject, claims)
	if id.Role == "" {
		return refuse(http.StatusForbidden, id.Actor, "no role mapped",
			"You are signed in at the identity provider as "+id.Actor[len("oidc:"):]+", but none of your "+s.OIDC.cfg.RoleClaim+
				" values is mapped to a partyledger role. Ask your administrator to add you to a group that is.", nil)
	}
	if err := s.startSessionAs(w, r, Session{Actor: id.Actor, Role: id.Role, Method: "oidc"}); err != nil {
		return err
	}
	s.recordAccess(r, id.Actor, OutcomeOIDCSignedIn, http.StatusSeeOther)
	s.logger().Info("console: signed in", "actor", id.Actor, "role", id.Role, "method", "oidc")
	http.Redirect(w, r, f.next, http.StatusSeeOther)
	return nil
}

// recordAccess writes a sign-in or a refusal to the security log, on a
// detached context: the record must be kept even if the browser has gone.
func (s *Server) recordAccess(r *http.Request, actor, outcome string, status int) {
	if s.Access == nil {
		return
	}
	client := ""
	if s.ClientAddr != nil {
		client = s.ClientAddr(r)
	} else if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		client = host
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	if err := s.Access.Record(ctx, auth.AccessEntry{Client: client, Actor: actor, Method: r.Method,
		Path: r.URL.Path, Outcome: outcome, Status: status}); err != nil {
		s.logger().Error("console: security log: could not record a sign-in", "err", err)
	}
}
