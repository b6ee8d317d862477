package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/oauth2"

	"github.com/partyledger/partyledger/handlers/auth"
)

// OIDCConfig configures sign-in with the organisation's identity provider
// (OpenID Connect, authorization code flow with PKCE).
type OIDCConfig struct {
	// Issuer is the provider's issuer URL; its discovery document is read
	// at start.
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL is the callback registered at the provider. Empty means
	// /login/oidc/callback on the address the browser used.
	RedirectURL string
	// Scopes are requested in addition to openid.
	Scopes []string
	// RoleClaim is the ID-token claim whose values are mapped to roles
	// (a string or a list of strings; a dotted path such as
	// realm_access.roles reaches into objects).
	RoleClaim string
	// RoleMap maps claim values to roles; see [ParseRoleMap].
	RoleMap []RoleRule
}

// RoleRule maps one value of the role claim to a role. Value "*" matches
// every user who signs in.
type RoleRule struct {
	Value string
	Role  string
}

// ParseRoleMap reads "isms-admins=admin,isms-editors=editor,*=viewer": a
// comma-separated list of claim value = role. It fails for an unknown role
// or a malformed rule.
func ParseRoleMap(s string) ([]RoleRule, error) {
	var rules []RoleRule
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		v, role, ok := strings.Cut(part, "=")
		v, role = strings.TrimSpace(v), strings.TrimSpace(role)
		if !ok || v == "" {
			return nil, fmt.Errorf("role map: %q is not value=role", part)
		}
		if !slices.Contains(auth.Roles, role) {
			return nil, fmt.Errorf("role map: %q: role must be one of %s", part, strings.Join(auth.Roles, ", "))
		}
		rules = append(rules, RoleRule{Value: v, Role: role})
	}
	if len(rules) == 0 {
		return nil, errors.New("role map: no rules")
	}
	return rules, nil
}

// MapRole returns the highest role that rules give a user whose role claim
// has these values, or "" when no rule matches (the user is refused).
func MapRole(rules []RoleRule, values []string) string {
	best := -1
	for _, r := range rules {
		if r.Value == "*" || slices.Contains(values, r.Value) {
			best = max(best, slices.Index(auth.Roles, r.Role))
		}
	}
	if best < 0 {
		return ""
	}
	return auth.Roles[best]
}

// OIDC is a configured identity provider: its endpoints, the ID-token
// verifier (issuer, audience, expiry, signature by the provider's JWKS) and
// the sign-ins in progress. It is safe for concurrent use.
type OIDC struct {
	cfg      OIDCConfig
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
	// Name is shown on the sign-in button ("Sign in with <Name>").
	Name  string
	flows flowStore
}

// NewOIDC reads the provider's discovery document. It fails when the
// provider cannot be reached or its issuer does not match.
func NewOIDC(ctx context.Context, cfg OIDCConfig) (*OIDC, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("oidc: issuer, client ID and client secret are all required")
	}
	if len(cfg.RoleMap) == 0 {
		return nil, errors.New("oidc: the role map is empty")
	}
	if cfg.RedirectURL != "" {
		if u, err := url.Parse(cfg.RedirectURL); err != nil || !u.IsAbs() {
			return nil, fmt.Errorf("oidc: redirect URL %q is not an absolute URL", cfg.RedirectURL)
		}
	}
	p, err := oidc.NewProvider(ctx, cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc: discover %s: %w", cfg.Issuer, err)
	}
	name := cfg.Issuer
	if u, err := url.Parse(cfg.Issuer); err == nil && u.Host != "" {
		name = u.Host
	}
	return &OIDC{cfg: cfg, provider: p, verifier: p.Verifier(&oidc.Config{ClientID: cfg.ClientID}), Name: name}, nil
}

// oauth2Config is the client configuration for one redirect URL.
func (o *OIDC) oauth2Config(redirect string) *oauth2.Config {
	scopes := []string{oidc.ScopeOpenID}
	for _, s := range o.cfg.Scopes {
		if s != "" && s != oidc.ScopeOpenID {
			scopes = append(scopes, s)
		}
	}
	return &oauth2.Config{ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret,
		Endpoint: o.provider.Endpoint(), RedirectURL: redirect, Scopes: scopes}
}

// identity is who a verified ID token names, and their mapped role.
type identity struct {
	Actor string // oidc:<email> or oidc:<sub>
	Role  string // "" when no rule maps
}

// identify reads the actor and the role from verified claims. The e-mail
// address is used unless the provider says it is unverified
// (email_verified: false); then the subject is.
func (o *OIDC) identify(sub string, claims map[string]any) identity {
	name := sub
	if email, _ := claims["email"].(string); email != "" {
		if v, ok := claims["email_verified"]; !ok || v == true || v == "true" {
			name = strings.ToLower(email)
		}
	}
	return identity{Actor: "oidc:" + name, Role: MapRole(o.cfg.RoleMap, claimValues(claims, o.cfg.RoleClaim))}
}

// claimValues returns the strings at a dotted claim path: one string, or
// the strings of a list.
func claimValues(claims map[string]any, path string) []string {
	var v any = claims
	for key := range strings.SplitSeq(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[key]
	}
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// FlowTTL is how long a started sign-in may take at the provider.
const FlowTTL = 10 * time.Minute

// maxFlows bounds the sign-ins in progress: GET /login/oidc needs no
// session, so it must not be able to grow memory without bound.
const maxFlows = 10_000

// flow is one sign-in in progress, keyed by its state.
type flow struct {
	binding  string // SHA-256 of the browser-binding cookie
	nonce    string
	verifier string // PKCE code verifier
	redirect string
	next     string
	expires  time.Time
}

// flowStore keeps sign-ins in progress in memory, or, once
// [OIDC.ShareFlows] gave it a bucket, in a JetStream key-value bucket that
// every replica shares: a browser sent to the provider by replica A may
// come back through B behind a round-robin load balancer. A state is taken
// (and removed) once: a replayed callback finds nothing.
type flowStore struct {
	mu sync.Mutex
	m  map[string]flow
	kv jetstream.KeyValue
}

var errTooManyFlows = errors.New("console: too many sign-ins in progress")

// ShareFlows keeps the sign-ins in progress in kv (a bucket whose TTL is
// at least FlowTTL) instead of this process's memory. Call it before
// serving.
func (o *OIDC) ShareFlows(kv jetstream.KeyValue) { o.flows.kv = kv }

// kvFlow is a flow as the shared bucket keeps it, under "f." and the
// SHA-256 of its state. The PKCE verifier and the nonce are secrets of the
// sign-in in progress; the bucket lives inside the deployment, as the
// process memory does on one replica, and the entry is deleted when taken.
type kvFlow struct {
	Binding  string    `json:"binding"`
	Nonce    string    `json:"nonce"`
	Verifier string    `json:"verifier"`
	Redirect string    `json:"redirect"`
	Next     string    `json:"next"`
	Expires  time.Time `json:"expires"`
}

func kvFlowKey(state string) string { return "f." + sessionKey(state) }

func (fs *flowStore) put(ctx context.Context, state string, f flow, now time.Time) error {
	if fs.kv != nil {
		st, err := fs.kv.Status(ctx)
		if err != nil {
			return fmt.Errorf("console: sign-ins in progress: %w", err)
		}
		if st.Values() >= maxFlows {
			return errTooManyFlows
		}
		val, err := json.Marshal(kvFlow{Binding: f.binding, Nonce: f.nonce, Verifier: f.verifier,
			Redirect: f.redirect, Next: f.next, Expires: f.expires})
		if err != nil {
			return err
		}
		if _, err := fs.kv.Create(ctx, kvFlowKey(state), val); err != nil {
			return fmt.Errorf("console: store sign-in in progress: %w", err)
		}
		return nil
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.m == nil {
		fs.m = map[string]flow{}
	}
	for k, v := range fs.m {
		if !now.Before(v.expires) {
			delete(fs.m, k)
		}
	}
	if len(fs.m) >= maxFlows {
		return errTooManyFlows
	}
	fs.m[state] = f
	return nil
}

func (fs *flowStore) take(ctx context.Context, state string, now time.Time) (flow, bool) {
	if fs.kv != nil {
		key := kvFlowKey(state)
		e, err := fs.kv.Get(ctx, key)
		if err != nil {
			return flow{}, false
		}
		// Delete at the revision read: of two callbacks with one state,
		// only one deletes it and goes on.
		if err := fs.kv.Delete(ctx, key, jetstream.LastRevision(e.Revision())); err != nil {
			return flow{}, false
		}
		var kf kvFlow
		if err := json.Unmarshal(e.Value(), &kf); err != nil || !now.Before(kf.Expires) {
			return flow{}, false
		}
		return flow{binding: kf.Binding, nonce: kf.Nonce, verifier: kf.Verifier, redirect: kf.Redirect,
			next: kf.Next, expires: kf.Expires}, true
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f, ok := fs.m[state]
	delete(fs.m, state)
	if !ok || !now.Before(f.expires) {
		return flow{}, false
	}
	return f, true
}
