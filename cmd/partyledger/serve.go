package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/time/rate"

	"github.com/partyledger/partyledger/handlers/auth"
	"github.com/partyledger/partyledger/handlers/httpapi"
)

// serveConfig is everything serve needs; flags fill it.
type serveConfig struct {
	store     storeFlags
	addr      string
	logFormat string
	logLevel  string
	tlsCert   string
	tlsKey    string
	rateLimit float64
	rateBurst int
	authFails float64
	// trustedProxies are CIDRs whose forwarding headers name the client.
	trustedProxies []string
	// accessLogRetention is how long the security log keeps a line.
	accessLogRetention retentionValue
	// memoryLimitMiB is the Go runtime's soft memory limit (0: none).
	memoryLimitMiB int
	// onListen, if set, is called with the bound address (tests use :0).
	onListen func(addr string)
	// onAPI, if set, is called with the API server once every feature has
	// been wired (tests read its route table).
	onAPI func(*httpapi.Server)
}

func newServeCmd() *cobra.Command {
	var cfg serveConfig
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the HTTP API (event log on SQLite, or on NATS JetStream with --store)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runServe(cmd.Context(), cfg, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cfg.store.register(cmd)
	cfg.store.nats.register(cmd.Flags())
	cmd.Flags().StringVar(&cfg.addr, "addr", envOr(envAddr, "127.0.0.1:8080"), "listen address (env "+envAddr+")")
	cmd.Flags().StringVar(&cfg.logFormat, "log-format", envOr(envLogFormat, "text"), "log format: text or json (env "+envLogFormat+")")
	cmd.Flags().StringVar(&cfg.logLevel, "log-level", envOr(envLogLevel, "info"), "log level: debug, info, warn, error (env "+envLogLevel+")")
	cmd.Flags().StringVar(&cfg.tlsCert, "tls-cert", envOr("PARTYLEDGER_TLS_CERT", ""), "TLS certificate file (PEM); with --tls-key serves HTTPS")
	cmd.Flags().StringVar(&cfg.tlsKey, "tls-key", envOr("PARTYLEDGER_TLS_KEY", ""), "TLS private key file (PEM)")
	cmd.Flags().Float64Var(&cfg.rateLimit, "rate-limit", float64(httpapi.DefaultLimits.PerToken), "requests per second allowed per token (0: unlimited)")
	cmd.Flags().IntVar(&cfg.rateBurst, "rate-burst", httpapi.DefaultLimits.PerTokenBurst, "burst of requests allowed per token")
	cmd.Flags().Float64Var(&cfg.authFails, "auth-failures-per-minute", float64(httpapi.DefaultLimits.FailedAuthBurst),
		"failed authentications allowed per client address per minute before it gets 429 (0: unlimited)")
	cmd.Flags().StringSliceVar(&cfg.trustedProxies, "trusted-proxy", nil,
		"CIDR of a reverse proxy whose X-Forwarded-For/Forwarded headers name the client (repeatable; default: trust none)")
	cfg.accessLogRetention = retentionValue(auth.DefaultAccessLogRetention)
	cmd.Flags().Var(&cfg.accessLogRetention, "access-log-retention", "how long the security log keeps a line, e.g. 90d or 720h")
	cmd.Flags().IntVar(&cfg.memoryLimitMiB, "memory-limit", int(envInt(envMemoryLimit, defaultMemoryLimitMiB)),
		"soft limit of the Go heap in MiB: the garbage collector works harder near it instead of growing the process; 0 turns it off; GOMEMLIMIT, when set, wins (env "+envMemoryLimit+")")
	for _, f := range serveFeatures {
		if f.flags != nil {
			f.flags(cmd.Flags())
		}
	}
	return cmd
}

// serveFeature is an optional part of serve (audit checkpoints, event bus,
// webhooks, ...). Each feature file appends one from an init function: its
// flags, and a start function that wires it into the API before the
// listener opens and returns how to stop it. Features stop in reverse order.
type serveFeature struct {
	name  string
	flags func(*pflag.FlagSet)
	start func(ctx context.Context, a *app, api *httpapi.Server) (stop func() error, err error)
}

var serveFeatures []serveFeature

// runServe runs the service until ctx is cancelled, then shuts down
// gracefully: stop accepting, finish requests (10 s at most), stop the
// projections, close the store.
func runServe(ctx context.Context, cfg serveConfig, stdout, stderr io.Writer) error {
	logger := newLogger(stderr, cfg.logFormat, cfg.logLevel)
	setMemoryLimit(cfg.memoryLimitMiB, logger)
	a, lock, err := openWriterApp(ctx, cfg.store, logger, true, "serve")
	if err != nil {
		return err
	}
	defer a.Close()

	if (cfg.tlsCert == "") != (cfg.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	limits := httpapi.DefaultLimits
	limits.PerToken, limits.PerTokenBurst = rate.Limit(cfg.rateLimit), cfg.rateBurst
	limits.FailedAuth, limits.FailedAuthBurst = rate.Limit(cfg.authFails/60), int(max(1, cfg.authFails))
	proxies, err := httpapi.ParseTrustedProxies(cfg.trustedProxies)
	if err != nil {
		return fmt.Errorf("--trusted-proxy: %w", err)
	}
	// Bind first: a start that fails (the port is taken) must not have
	// minted the one-time admin token or any key.
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.addr, err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	scheme := "http"
	if cfg.tlsCert != "" {
		scheme = "https"
	}
	if err := lock.describe(scheme + "://" + addr); err != nil {
		return err
	}
	if err := bootstrapAdmin(ctx, a.tokens, stdout, logger); err != nil {
		return err
	}
	api := &httpapi.Server{Commands: a.commands, Reads: a.reads, Tokens: a.tokens, Log: a.store,
		Access: a.access, Limits: limits, Logger: logger.With("component", "http"), TrustedProxies: proxies}
	retention := time.Duration(cfg.accessLogRetention)
	if retention <= 0 {
		retention = auth.DefaultAccessLogRetention
	}
	retCtx, stopRetention := context.WithCancel(ctx)
	retDone := make(chan struct{})
	go func() {
		defer close(retDone)
		a.access.RunRetention(retCtx, retention, time.Hour, func(err error) { logger.Warn("security log retention", "err", err) })
	}()
	defer func() { stopRetention(); <-retDone }()
	for _, f := range serveFeatures {
		if f.start == nil {
			continue
		}
		stop, err := f.start(ctx, a, api)
		if err != nil {
			return fmt.Errorf("start %s: %w", f.name, err)
		}
		if stop != nil {
			defer func() {
				if err := stop(); err != nil {
					logger.Warn("stop feature", "feature", f.name, "err", err)
				}
			}()
		}
	}
	if cfg.onAPI != nil {
		cfg.onAPI(api)
	}
	srv := &http.Server{
		Handler:           withConsole(a, api, cfg.tlsCert != "", logger),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	logger.Info("partyledger serving", "addr", scheme+"://"+addr, "db", cfg.store.db, "read_model", cfg.store.readModelPath())
	printConsoleURL(stdout, scheme+"://"+addr)
	if cfg.onListen != nil {
		cfg.onListen(addr)
	}
	errc := make(chan error, 1)
	go func() {
		if cfg.tlsCert != "" {
			errc <- srv.ServeTLS(ln, cfg.tlsCert, cfg.tlsKey)
			return
		}
		errc <- srv.Serve(ln)
	}()

	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
	case <-ctx.Done():
		logger.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			logger.Warn("shutdown: requests cut short", "err", err)
		}
	}
	return nil
}
