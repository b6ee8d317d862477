// Package pipelinetest opens a real change pipeline for tests: a read model
// in a temporary SQLite file following the given store, with the pipeline as
// its commit hook, as serve wires it.
package pipelinetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/eventstore/sqlite"
	"github.com/partyledger/partyledger/handlers/pipeline"
	"github.com/partyledger/partyledger/projections"
)

// MustOpen runs a read model on store in tb's temporary directory and
// returns the pipeline its runner produces, and the read model. Both stop at
// the end of the test.
func MustOpen(tb testing.TB, store eventstore.Store) (*pipeline.Pipeline, *projections.ReadModel) {
	tb.Helper()
	return MustOpenRing(tb, store, 0)
}

// MustOpenRing is [MustOpen] with a ring of the given number of batches (0
// means [pipeline.DefaultRing]): a small ring makes followers catch up from
// the log.
func MustOpenRing(tb testing.TB, store eventstore.Store, ring int) (*pipeline.Pipeline, *projections.ReadModel) {
	tb.Helper()
	ctx := context.Background()
	db, err := sqlite.OpenDB(filepath.Join(tb.TempDir(), "readmodel.db"), sqlite.WithSynchronous(sqlite.SynchronousNormal))
	if err != nil {
		tb.Fatal(err)
	}
	var p *pipeline.Pipeline
	rm, err := projections.Open(ctx, db, store, nil,
		projections.WithCommitHook(func(ctx context.Context, events []eventstore.Event) { p.Publish(ctx, events) }))
	if err != nil {
		db.Close()
		tb.Fatal(err)
	}
	p = pipeline.New(store, rm, ring)
	cp, err := rm.Checkpoint(ctx)
	if err != nil {
		db.Close()
		tb.Fatal(err)
	}
	p.Start(cp)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = rm.Run(rctx)
	}()
	tb.Cleanup(func() {
		cancel()
		<-done
		db.Close()
	})
	return p, rm
}
