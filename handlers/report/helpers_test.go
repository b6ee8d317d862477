package report_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore/sqlite"
	"github.com/partyledger/partyledger/handlers/commands"
	"github.com/partyledger/partyledger/handlers/demo"
	"github.com/partyledger/partyledger/handlers/report"
	"github.com/partyledger/partyledger/projections"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// Fixed clocks: the command service stamps every event with commandClock;
// reports are generated at reportClock, after some review dates of the demo.
var (
	commandClock = time.Date(2026, 6, 15, 9, 30, 0, 0, time.UTC)
	reportClock  = time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
)

// env is a real event store, read model and command service on temporary
// files.
type env struct {
	store *sqlite.Store
	rm    *projections.ReadModel
	svc   *commands.Service
}

// MustOpenEnv opens an empty env whose read model follows the store until
// the test ends.
func MustOpenEnv(tb testing.TB) *env {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"), sqlite.Options{Synchronous: sqlite.SynchronousNormal})
	if err != nil {
		tb.Fatal(err)
	}
	db, err := sqlite.OpenDB(filepath.Join(dir, "read.db"), sqlite.WithSynchronous(sqlite.SynchronousNormal))
	if err != nil {
		tb.Fatal(err)
	}
	rm, err := projections.Open(ctx, db, store, nil)
	if err != nil {
		tb.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- rm.Run(runCtx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			tb.Errorf("read model stopped: %v", err)
		}
		if err := store.Close(); err != nil {
			tb.Error(err)
		}
		if err := db.Close(); err != nil {
			tb.Error(err)
		}
	})
	return &env{store: store, rm: rm,
		svc: &commands.Service{Store: store, Reads: rm, Now: func() time.Time { return commandClock }}}
}

// MustLoadDemo opens an env with the demo organisation loaded.
func MustLoadDemo(tb testing.TB) (*env, demo.Summary) {
	tb.Helper()
	e := MustOpenEnv(tb)
	sum, err := demo.Load(context.Background(), e.svc, "demo", nil)
	if err != nil {
		tb.Fatal(err)
	}
	return e, sum
}

// builder returns a report builder on e with the fixed report clock.
func (e *env) builder() *report.Builder {
	return &report.Builder{Reads: e.rm, Log: e.store, Organisation: "Northwind Cloud Ltd",
		Now: func() time.Time { return reportClock }}
}

// MustBuild builds a report or fails the test.
func (e *env) MustBuild(tb testing.TB, since, until string) *report.Report {
	tb.Helper()
	rep, err := e.builder().Build(context.Background(), report.Request{Since: since, Until: until, GeneratedBy: "auditor"})
	if err != nil {
		tb.Fatalf("build since=%q until=%q: %v", since, until, err)
	}
	return rep
}

// MustRender renders rep in format f.
func MustRender(tb testing.TB, rep *report.Report, f report.Format) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := report.Render(&buf, rep, f); err != nil {
		tb.Fatalf("render %s: %v", f, err)
	}
	return buf.Bytes()
}

// meta is the audit metadata of a test command.
func meta(reason, trigger string) domain.Meta {
	return domain.Meta{Actor: "tester", Reason: reason, Trigger: trigger}
}

// MustIdentifyParty adds a party and returns its id.
func (e *env) MustIdentifyParty(tb testing.TB, name, scope string) domain.PartyID {
	tb.Helper()
	res, err := e.svc.IdentifyParty(context.Background(), domain.IdentifyParty{Meta: meta("test party", "other"),
		Name: name, Category: "regulator", Scope: scope, Owner: "CISO", Influence: 3, Interest: 3})
	if err != nil {
		tb.Fatalf("identify party %q: %v", name, err)
	}
	return domain.PartyID(strings.TrimPrefix(res.Stream, domain.PartyStreamPrefix))
}

// feedTypes are the event types the change feed shows: register changes.
var feedTypes = []string{domain.EventPartyIdentified, domain.EventPartyRevised, domain.EventPartyRetired,
	domain.EventRequirementIdentified, domain.EventRequirementRevised, domain.EventRequirementAddressingDecided,
	domain.EventRequirementRetired}

// MustCountChanges counts the register changes in the log with a position
// in (after, until], reading the store itself.
func (e *env) MustCountChanges(tb testing.TB, after, until int64) int {
	tb.Helper()
	evs, err := e.store.ReadAll(context.Background(), after, int(until-after))
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for _, ev := range evs {
		if ev.Position <= until && slices.Contains(feedTypes, ev.Type) {
			n++
		}
	}
	return n
}

// compareGolden compares got with testdata/name, or rewrites the file with
// -update.
func compareGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs from the golden file (-want +got; go test -update rewrites it):\n%s", name, diff)
	}
}

// MustHead returns the position of the last event in the log (name
// reservations included, so not the demo summary's event count).
func (e *env) MustHead(tb testing.TB) int64 {
	tb.Helper()
	head, _, err := e.store.Head(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return head
}
