package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/partyledger/partyledger/handlers/console"
	"github.com/partyledger/partyledger/handlers/httpapi"
)

// Environment defaults of the console sign-in flags.
const (
	envOIDCIssuer           = "PARTYLEDGER_OIDC_ISSUER"
	envOIDCClientID         = "PARTYLEDGER_OIDC_CLIENT_ID"
	envOIDCClientSecretFile = "PARTYLEDGER_OIDC_CLIENT_SECRET_FILE"
	envOIDCRedirectURL      = "PARTYLEDGER_OIDC_REDIRECT_URL"
	envOIDCScopes           = "PARTYLEDGER_OIDC_SCOPES"
	envOIDCRoleClaim        = "PARTYLEDGER_OIDC_ROLE_CLAIM"
	envOIDCRoleMap          = "PARTYLEDGER_OIDC_ROLE_MAP"
	envConsoleTokenLogin    = "PARTYLEDGER_CONSOLE_TOKEN_LOGIN"
)

// defaultRoleMap maps the example groups and has no "*" rule: a person in
// none of them is refused until an administrator maps them.
const defaultRoleMap = "isms-admins=admin,isms-editors=editor,auditors=auditor"

// signInOptions are the console sign-in flags. Like the other features'
// options they are package variables that start with their defaults.
type signInOptions struct {
	issuer, clientID, secretFile, redirectURL string
	scopes                                    []string
	roleClaim, roleMap                        string
	tokenLogin                                bool
}

var signInOpts = signInOptions{
	issuer: envOr(envOIDCIssuer, ""), clientID: envOr(envOIDCClientID, ""),
	secretFile: envOr(envOIDCClientSecretFile, ""), redirectURL: envOr(envOIDCRedirectURL, ""),
	scopes:    strings.Split(envOr(envOIDCScopes, "openid,email,profile"), ","),
	roleClaim: envOr(envOIDCRoleClaim, "groups"), roleMap: envOr(envOIDCRoleMap, defaultRoleMap),
	tokenLogin: envOr(envConsoleTokenLogin, "true") == "true",
}

// signInState is one server's console sessions (shared by the console and
// the API's GET/DELETE /api/v1/sessions) and its identity provider.
type signInState struct {
	sessions console.Sessions // in memory, or the shared bucket on NATS (shared.go)
	oidc     *console.OIDC    // nil without --oidc-issuer
}

func init() {
	serveFeatures = append(serveFeatures, serveFeature{name: "console sign-in", flags: signInFlags, start: startSignIn})
}

func signInFlags(fs *pflag.FlagSet) {
	o := &signInOpts
	fs.StringVar(&o.issuer, "oidc-issuer", o.issuer, "OpenID Connect issuer URL: offers console sign-in with it (env "+envOIDCIssuer+")")
	fs.StringVar(&o.clientID, "oidc-client-id", o.clientID, "OIDC client ID registered at the provider (env "+envOIDCClientID+")")
	fs.StringVar(&o.secretFile, "oidc-client-secret-file", o.secretFile, "file holding the OIDC client secret (env "+envOIDCClientSecretFile+")")
	fs.StringVar(&o.redirectURL, "oidc-redirect-url", o.redirectURL,
		"OIDC redirect URL registered at the provider (default: <this server>/login/oidc/callback) (env "+envOIDCRedirectURL+")")
	fs.StringSliceVar(&o.scopes, "oidc-scopes", o.scopes, "OIDC scopes to request (env "+envOIDCScopes+")")
	fs.StringVar(&o.roleClaim, "oidc-role-claim", o.roleClaim, "ID-token claim mapped to roles; a dotted path reaches into objects (env "+envOIDCRoleClaim+")")
	fs.StringVar(&o.roleMap, "oidc-role-map", o.roleMap,
		`claim value=role rules, highest role wins; "*" matches everyone, e.g. "isms-admins=admin,isms-editors=editor,auditors=auditor,*=viewer" (env `+envOIDCRoleMap+")")
	fs.BoolVar(&o.tokenLogin, "console-token-login", o.tokenLogin, "offer sign-in with an API token on the console's /login (env "+envConsoleTokenLogin+")")
}

// startSignIn makes the console's session store (shared with the API's
// GET/DELETE /api/v1/sessions) and, with --oidc-issuer, reads the
// provider's discovery document: a wrong issuer fails serve at start.
func startSignIn(ctx context.Context, a *app, api *httpapi.Server) (func() error, error) {
	if !consoleOn {
		return nil, nil
	}
	sessions, err := a.shareSessions(ctx)
	if err != nil {
		return nil, err
	}
	a.signIn = &signInState{sessions: sessions}
	api.Sessions = console.SessionAdmin{Sessions: a.signIn.sessions}
	o := signInOpts
	if o.issuer == "" {
		if !o.tokenLogin {
			return nil, errors.New("--console-token-login=false needs --oidc-issuer: nobody could sign in")
		}
		return nil, nil
	}
	if o.clientID == "" || o.secretFile == "" {
		return nil, errors.New("--oidc-issuer needs --oidc-client-id and --oidc-client-secret-file")
	}
	secret, err := os.ReadFile(o.secretFile)
	if err != nil {
		return nil, fmt.Errorf("--oidc-client-secret-file: %w", err)
	}
	rules, err := console.ParseRoleMap(o.roleMap)
	if err != nil {
		return nil, fmt.Errorf("--oidc-role-map: %w", err)
	}
	if strings.TrimSpace(o.roleClaim) == "" {
		return nil, errors.New("--oidc-role-claim is empty")
	}
	var scopes []string
	for _, s := range o.scopes {
		if s = strings.TrimSpace(s); s != "" {
			scopes = append(scopes, s)
		}
	}
	a.signIn.oidc, err = console.NewOIDC(ctx, console.OIDCConfig{Issuer: o.issuer, ClientID: o.clientID,
		ClientSecret: strings.TrimSpace(string(secret)), RedirectURL: o.redirectURL, Scopes: scopes,
		RoleClaim: strings.TrimSpace(o.roleClaim), RoleMap: rules})
	if err != nil {
		return nil, err
	}
	if err := a.shareOIDCFlows(ctx, a.signIn.oidc); err != nil {
		return nil, err
	}
	a.logger.Info("console sign-in with OIDC", "issuer", o.issuer, "token_login", o.tokenLogin)
	return nil, nil
}
