package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/spf13/pflag"

	"github.com/partyledger/partyledger/handlers/console"
	"github.com/partyledger/partyledger/handlers/httpapi"
)

const envConsole = "PARTYLEDGER_CONSOLE"

// consoleOn turns the web console on (serve --console). The package
// variable starts with the flag's default so that tests calling runServe
// directly get it too.
var consoleOn = envOr(envConsole, "true") == "true"

func init() {
	serveFeatures = append(serveFeatures, serveFeature{name: "web console", flags: func(fs *pflag.FlagSet) {
		fs.BoolVar(&consoleOn, "console", consoleOn, "serve the web console at / beside the API (env "+envConsole+")")
	}})
}

// withConsole returns the handler of the whole address: the API under
// /api/ (and its health checks), the web console everywhere else. With the
// console off it is the API's handler alone.
func withConsole(a *app, api *httpapi.Server, secure bool, logger *slog.Logger) http.Handler {
	apiH := api.Handler()
	if !consoleOn {
		return apiH
	}
	c := &console.Server{Commands: a.commands, Reads: a.reads, Tokens: a.tokens, Audit: a.reads, Plans: a.reads,
		Sessions: &console.MemorySessions{}, Secure: secure, Logger: logger.With("component", "console")}
	if a.signIn != nil {
		c.Sessions, c.OIDC, c.NoTokenLogin = a.signIn.sessions, a.signIn.oidc, a.signIn.oidc != nil && !signInOpts.tokenLogin
	}
	c.Access, c.ClientAddr = a.access, api.ClientAddr
	if api.Reports != nil {
		c.Reports = api.Reports
	}
	c.AuditTrail = api.Audit
	c.FailedAuth = api // one failed-sign-in budget per client for the API and the console
	c.Imports = api.Imports
	c.Reminders, c.ReminderLog = api.Reminders, a.reads // /owners: the same service as PUT /api/v1/owners/{name}
	if api.Relationships != nil {
		c.Diagrams = api // the same map and grid as GET /api/v1/diagrams/...
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", apiH)
	mux.Handle("/healthz", apiH)
	mux.Handle("/readyz", apiH)
	mux.Handle("/", c.Handler())
	return mux
}

// printConsoleURL tells a newcomer where to open the console.
func printConsoleURL(stdout io.Writer, url string) {
	if consoleOn {
		fmt.Fprintf(stdout, "Open the web console at %s/ and sign in with an API token.\n", url)
	}
}
