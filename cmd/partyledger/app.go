package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/eventstore/sqlite"
	"github.com/partyledger/partyledger/handlers/auth"
	"github.com/partyledger/partyledger/handlers/commands"
	"github.com/partyledger/partyledger/handlers/httpapi"
	"github.com/partyledger/partyledger/handlers/pipeline"
	"github.com/partyledger/partyledger/projections"
)

// app is the wired core shared by serve, demo and rebuild: the event store,
// the token table, the read model and the command service. Close releases
// them in the reverse order of opening.
type app struct {
	store    eventstore.Store
	tokens   *auth.Tokens
	access   *auth.AccessLog
	reads    *projections.ReadModel
	readDB   *sql.DB   // the read-model file; features may keep tables of their own in it
	nats     *natsConn // set when the event log is on NATS JetStream
	commands *commands.Service
	logger   *slog.Logger
	dbPath   string // the event log's file; features keep configuration tables in it (sqlite.OpenDB)

	signIn *signInState // the console's sessions and identity provider (oidc.go)

	closers []func() error
	runWG   sync.WaitGroup
	stopRun context.CancelFunc
	runErr  error

	changes *pipeline.Pipeline // the committed-change stream the projections runner produces
}

// readPoolConns caps the read model's query pool. Each SQLite connection
// keeps its own page cache, so an uncapped pool under many clients was most
// of the serving process's peak memory (issue 17); 6 connections kept the
// same read throughput on the measured machines.
const readPoolConns = 6

// pointPoolConns is the pool of one-party reads, kept apart so that they
// never wait behind list pages (projections.WithPointReads).
const pointPoolConns = 2

// openApp opens the store and the read model. If follow is true the read
// model starts following the log in the background.
func openApp(ctx context.Context, f storeFlags, logger *slog.Logger, follow bool) (*app, error) {
	a := &app{logger: logger, dbPath: f.db}
	onNATS, err := f.nats.nats()
	if err != nil {
		return nil, err
	}
	var store eventstore.Store
	if onNATS {
		// The event log on JetStream; the read model stays in local
		// SQLite files, tokens, sessions and the security log are shared
		// in buckets beside the log (natsstore.go, shared.go).
		var closers []func() error
		store, a.nats, closers, err = openNATSStore(ctx, f, logger)
		if err != nil {
			return nil, err
		}
		a.closers = append(a.closers, closers...)
	} else {
		s, err := sqlite.Open(ctx, f.db, sqlite.Options{Logger: logger.With("component", "eventstore")})
		if err != nil {
			return nil, fmt.Errorf("open event log %s: %w", f.db, err)
		}
		store = s
		a.closers = append(a.closers, s.Close)
	}
	a.store = store

	tdb, err := sqlite.OpenDB(f.db)
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("open token table in %s: %w", f.db, err)
	}
	a.closers = append(a.closers, tdb.Close)
	if a.tokens, err = auth.NewTokens(ctx, tdb); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.shareTokens(ctx); err != nil { // on NATS: the shared bucket (shared.go)
		a.Close()
		return nil, err
	}

	// The security log has a file of its own and not the event log's
	// durability setting: a flood of denied requests must neither grow the
	// event log's file nor cost an fsync each.
	adb, err := sqlite.OpenDB(f.securityLogPath(), sqlite.WithSynchronous(sqlite.SynchronousNormal))
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("open security log %s: %w", f.securityLogPath(), err)
	}
	a.closers = append(a.closers, adb.Close)
	if a.access, err = auth.NewAccessLog(ctx, adb); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.shareSecurityLog(ctx); err != nil { // on NATS: every replica's lines (shared.go)
		a.Close()
		return nil, err
	}

	rdb, err := sqlite.OpenDB(f.readModelPath(), sqlite.WithSynchronous(sqlite.SynchronousNormal))
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("open read model %s: %w", f.readModelPath(), err)
	}
	a.closers = append(a.closers, rdb.Close)
	a.readDB = rdb
	// Queries get a capped pool (idle = open, so no connection and its page
	// cache is thrown away and rebuilt under load); the projections apply
	// through a connection of their own (see projections.WithWriter).
	rdb.SetMaxOpenConns(readPoolConns)
	rdb.SetMaxIdleConns(readPoolConns)
	wdb, err := sqlite.OpenDB(f.readModelPath(), sqlite.WithSynchronous(sqlite.SynchronousNormal))
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("open read model %s: %w", f.readModelPath(), err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	a.closers = append(a.closers, wdb.Close)
	pdb, err := sqlite.OpenDB(f.readModelPath(), sqlite.WithSynchronous(sqlite.SynchronousNormal))
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("open read model %s: %w", f.readModelPath(), err)
	}
	pdb.SetMaxOpenConns(pointPoolConns)
	pdb.SetMaxIdleConns(pointPoolConns)
	a.closers = append(a.closers, pdb.Close)
	// The runner produces the change pipeline after each committed batch
	// (handlers/pipeline); SSE, webhooks and the bus follow it.
	publish := func(ctx context.Context, events []eventstore.Event) { a.changes.Publish(ctx, events) }
	if a.reads, err = projections.Open(ctx, rdb, store, logger.With("component", "projections"),
		projections.WithWriter(wdb), projections.WithPointReads(pdb), projections.WithCommitHook(publish)); err != nil {
		a.Close()
		return nil, fmt.Errorf("open read model: %w", err)
	}
	a.changes = pipeline.New(store, a.reads, 0)
	cp, err := a.reads.Checkpoint(ctx)
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("open read model: %w", err)
	}
	a.changes.Start(cp)
	// NotePositions: each API write answers X-Position, the position of its
	// last event, for read-your-writes across replicas (issue 19).
	a.commands = &commands.Service{Store: httpapi.NotePositions(store), Reads: a.reads}
	// Token creation and revocation are events of the log; a new token may
	// not take a name that already acts in it.
	a.tokens.Log, a.tokens.Actors = store, a.reads
	if follow {
		a.follow()
	}
	return a, nil
}

// follow runs the projections in the background until Close.
func (a *app) follow() {
	ctx, cancel := context.WithCancel(context.Background())
	a.stopRun = cancel
	a.runWG.Add(1)
	go func() {
		defer a.runWG.Done()
		if err := a.reads.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			a.logger.Error("projections stopped", "err", err)
			a.runErr = err
		}
	}()
}

// Close stops the projections and closes everything, last opened first.
func (a *app) Close() error {
	if a.stopRun != nil {
		a.stopRun()
		a.runWG.Wait()
	}
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		if err := a.closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
