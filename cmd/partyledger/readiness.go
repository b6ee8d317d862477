package main

import (
	"context"
	"time"

	"github.com/spf13/pflag"

	"github.com/partyledger/partyledger/handlers/httpapi"
)

// Environment variables of the readiness flags.
const (
	envReadyMaxLag    = "PARTYLEDGER_READY_MAX_LAG"
	envReadyMaxLagAge = "PARTYLEDGER_READY_MAX_LAG_AGE"
)

// readinessOpts are the flags that say when GET /readyz calls this replica
// ready: how far its read model may be behind the shared log.
var readinessOpts struct {
	maxLag    int64
	maxLagAge time.Duration
}

func init() {
	serveFeatures = append(serveFeatures, serveFeature{name: "readiness", flags: readinessFlags, start: startReadiness})
}

func readinessFlags(fs *pflag.FlagSet) {
	fs.Int64Var(&readinessOpts.maxLag, "ready-max-lag", envInt(envReadyMaxLag, httpapi.DefaultReadyMaxLag),
		"largest lag, in events not yet applied to this replica's read model, at which /readyz answers 200; -1: no bound, 0: the default (env "+envReadyMaxLag+")")
	fs.DurationVar(&readinessOpts.maxLagAge, "ready-max-lag-age", envDuration(envReadyMaxLagAge, httpapi.DefaultReadyMaxLagAge),
		"largest age of the oldest event not yet applied at which /readyz answers 200; -1s: no bound, 0: the default (env "+envReadyMaxLagAge+")")
}

// startReadiness hands the flags to the API (handlers/httpapi/consistency.go),
// where zero means the default.
func startReadiness(_ context.Context, _ *app, api *httpapi.Server) (func() error, error) {
	api.Consistency.ReadyMaxLag = readinessOpts.maxLag
	api.Consistency.ReadyMaxLagAge = readinessOpts.maxLagAge
	return nil, nil
}
