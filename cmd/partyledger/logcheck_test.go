package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/eventstore/sqlite"
	"github.com/partyledger/partyledger/projections"
)

// Checks that the crash, backup and projection tests run on the files a
// process left behind: SQLite integrity, the hash chain, and the read model
// against a clean rebuild.

// copyCrashImage copies a database file and its WAL (not the -shm, which is
// rebuilt on open) into dir, as a process killed with SIGKILL left them,
// and returns the copy's path. Checking a copy leaves the original for the
// next start of serve, which must recover it by itself.
func copyCrashImage(tb testing.TB, path, dir string) string {
	tb.Helper()
	dst := filepath.Join(dir, filepath.Base(path))
	for _, suffix := range []string{"", "-wal"} {
		if err := copyFile(path+suffix, dst+suffix); err != nil {
			if suffix != "" && errors.Is(err, os.ErrNotExist) {
				continue
			}
			tb.Fatal(err)
		}
	}
	return dst
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// mustOpenLog opens the event log at path (running SQLite's recovery of the
// WAL), checks PRAGMA integrity_check and the hash chain, and returns the
// store and every event in it.
func mustOpenLog(tb testing.TB, path string) (*sqlite.Store, []eventstore.Event) {
	tb.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	tb.Cleanup(func() { store.Close() })
	mustIntegrityOK(tb, path)
	var all []eventstore.Event
	for after := int64(0); ; {
		evs, err := store.ReadAll(ctx, after, 10_000)
		if err != nil {
			tb.Fatal(err)
		}
		if len(evs) == 0 {
			break
		}
		all = append(all, evs...)
		after = evs[len(evs)-1].Position
	}
	if err := verifyChain(all); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	head, hash, err := store.Head(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	if n := int64(len(all)); head != n || (n > 0 && hash != all[n-1].Hash) {
		tb.Fatalf("%s: head %d %s, but the log has %d events", path, head, hash, n)
	}
	return store, all
}

// mustIntegrityOK runs PRAGMA integrity_check on the SQLite file at path.
func mustIntegrityOK(tb testing.TB, path string) {
	tb.Helper()
	db, err := sqlite.OpenDB(path, sqlite.WithQueryOnly())
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	if err := integrityCheck(context.Background(), db); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
}

// verifyChain checks what eventstore promises about the SQLite log: the
// positions run 1, 2, 3, ... without gaps, every event's hash is the hash of
// its canonical encoding, each prev_hash is the hash of the event before
// (empty for the first), and versions run 1, 2, 3, ... inside each stream.
func verifyChain(evs []eventstore.Event) error {
	prev := ""
	versions := map[string]int64{}
	for i, ev := range evs {
		switch {
		case ev.Position != int64(i)+1:
			return fmt.Errorf("chain: event %d has position %d (gap or disorder)", i+1, ev.Position)
		case ev.PrevHash != prev:
			return fmt.Errorf("chain: event %d: prev_hash %s, want %s", ev.Position, ev.PrevHash, prev)
		case ev.ComputeHash() != ev.Hash:
			return fmt.Errorf("chain: event %d: stored hash %s, computed %s", ev.Position, ev.Hash, ev.ComputeHash())
		case ev.Version != versions[ev.Stream]+1:
			return fmt.Errorf("chain: event %d: version %d of %s follows %d", ev.Position, ev.Version, ev.Stream, versions[ev.Stream])
		}
		versions[ev.Stream] = ev.Version
		prev = ev.Hash
	}
	return nil
}

// rmViews is what the read model answers, for comparing two read models.
type rmViews struct {
	Checkpoint int64
	Register   []projections.PartyView
	Parties    []projections.PartyView
	Reviews    []projections.ReviewView
	Changes    []projections.ChangeItem
}

func mustViews(tb testing.TB, m *projections.ReadModel) rmViews {
	tb.Helper()
	ctx := context.Background()
	var v rmViews
	var err error
	all := projections.PartyFilter{Status: projections.StatusAll}
	if v.Checkpoint, err = m.Checkpoint(ctx); err != nil {
		tb.Fatal(err)
	}
	if v.Register, err = m.Register(ctx, all); err != nil {
		tb.Fatal(err)
	}
	if v.Parties, err = m.Parties(ctx, all); err != nil {
		tb.Fatal(err)
	}
	if v.Reviews, err = m.Reviews(ctx); err != nil {
		tb.Fatal(err)
	}
	if v.Changes, err = m.Changes(ctx, projections.Window{}); err != nil {
		tb.Fatal(err)
	}
	return v
}

// mustOpenReadModel opens the read model in the file at path on store.
func mustOpenReadModel(tb testing.TB, path string, store eventstore.Store) *projections.ReadModel {
	tb.Helper()
	db, err := sqlite.OpenDB(path, sqlite.WithSynchronous(sqlite.SynchronousNormal))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	m, err := projections.Open(context.Background(), db, store, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// mustCleanRebuild rebuilds a read model from zero in a new file in dir and
// returns what it answers.
func mustCleanRebuild(tb testing.TB, dir string, store eventstore.Store) rmViews {
	tb.Helper()
	m := mustOpenReadModel(tb, filepath.Join(dir, "clean.readmodel.db"), store)
	if err := m.Rebuild(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return mustViews(tb, m)
}

// mustCatchUp runs m until it has applied the log up to head.
func mustCatchUp(tb testing.TB, m *projections.ReadModel, head int64) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	wctx, wcancel := context.WithTimeout(ctx, 2*time.Minute)
	err := m.WaitFor(wctx, head)
	wcancel()
	cancel()
	if rerr := <-done; !errors.Is(rerr, context.Canceled) {
		tb.Fatalf("read model run: %v", rerr)
	}
	if err != nil {
		tb.Fatal(err)
	}
}

// mustEqualViews fails the test if two read models answer differently.
func mustEqualViews(tb testing.TB, what string, want, got rmViews) {
	tb.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		tb.Fatalf("%s differs from a clean rebuild (-rebuild +%s):\n%s", what, what, diff)
	}
}
