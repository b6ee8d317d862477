package commands_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/eventstore/jetstream"
	"github.com/partyledger/partyledger/eventstore/jetstream/embedded"
	"github.com/partyledger/partyledger/eventstore/sqlite"
	"github.com/partyledger/partyledger/handlers/commands"
	"github.com/partyledger/partyledger/projections"
)

func identify(name string) domain.IdentifyParty {
	return domain.IdentifyParty{Meta: meta, Name: name, Category: "customer", Scope: "external", Influence: 3, Interest: 3}
}

// raceOneName runs n concurrent creates of one name, in different letter
// case, spread over the services, and returns how many succeeded and how
// many were refused with ECONFLICT.
func raceOneName(t *testing.T, n int, svcs ...*commands.Service) (ok, conflicts int) {
	t.Helper()
	var wg sync.WaitGroup
	var okN, confN atomic.Int32
	errs := make(chan error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			name := "Acme Bank"
			switch i % 3 {
			case 1:
				name = "ACME BANK"
			case 2:
				name = "  acme bank "
			}
			_, err := svcs[i%len(svcs)].IdentifyParty(context.Background(), identify(name))
			switch {
			case err == nil:
				okN.Add(1)
			case domain.ErrorCode(err) == domain.ECONFLICT:
				confN.Add(1)
			default:
				errs <- err
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("IdentifyParty: %v", err)
	}
	return int(okN.Load()), int(confN.Load())
}

func TestNameUniquenessRaceSQLite(t *testing.T) {
	svc, _ := MustOpenService(t)
	ok, conflicts := raceOneName(t, 50, svc)
	if ok != 1 || conflicts != 49 {
		t.Fatalf("50 concurrent creates of one name: %d created, %d conflicts; want 1 and 49", ok, conflicts)
	}
}

// TestNameReleasedByRenameAndRetirement: the event that frees a name
// releases its reservation, so the name can be taken again.
func TestNameReleasedByRenameAndRetirement(t *testing.T) {
	ctx := context.Background()
	svc, _ := MustOpenService(t)
	a, err := svc.IdentifyParty(ctx, identify("Acme Bank"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.IdentifyParty(ctx, identify("acme bank")); domain.ErrorCode(err) != domain.ECONFLICT {
		t.Fatalf("second Acme Bank: err = %v, want ECONFLICT", err)
	}
	idA := domain.PartyID(strings.TrimPrefix(a.Stream, domain.PartyStreamPrefix))
	// A change of case only keeps the reservation.
	cased := "ACME Bank"
	if _, err := svc.ReviseParty(ctx, domain.ReviseParty{Meta: meta, PartyID: idA, Name: &cased}, nil); err != nil {
		t.Fatal(err)
	}
	renamed := "Acme Holdings"
	if _, err := svc.ReviseParty(ctx, domain.ReviseParty{Meta: meta, PartyID: idA, Name: &renamed}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.IdentifyParty(ctx, identify("Acme bank")); err != nil {
		t.Fatalf("Acme Bank after the rename: %v", err)
	}
	if _, err := svc.IdentifyParty(ctx, identify("acme holdings")); domain.ErrorCode(err) != domain.ECONFLICT {
		t.Fatalf("the new name is not reserved: err = %v, want ECONFLICT", err)
	}
	if _, err := svc.RetireParty(ctx, domain.RetireParty{Meta: meta, PartyID: idA}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.IdentifyParty(ctx, identify("Acme Holdings")); err != nil {
		t.Fatalf("Acme Holdings after the retirement: %v", err)
	}
}

// appendHook is a store that runs before once, before the first append
// goes to the real store: the fault it injects is a concurrent writer.
type appendHook struct {
	eventstore.Store
	once   sync.Once
	before func()
}

func (h *appendHook) Append(ctx context.Context, stream string, expected int64, evs []eventstore.Event) ([]eventstore.Event, error) {
	h.once.Do(h.before)
	return h.Store.Append(ctx, stream, expected, evs)
}

func (h *appendHook) AppendStreams(ctx context.Context, parts []eventstore.StreamAppend) ([][]eventstore.Event, error) {
	h.once.Do(h.before)
	return h.Store.AppendStreams(ctx, parts)
}

// TestStaleCacheConcurrentWriter: two services (two caches) on one store.
// A write through the other one between this one's decision and its
// append is refused (409, or 412 under If-Match) and never lost; the next
// command reads the tail and sees it.
func TestStaleCacheConcurrentWriter(t *testing.T) {
	ctx := context.Background()
	a, _ := MustOpenService(t)
	b := &commands.Service{Store: a.Store, Reads: a.Reads, Now: a.Now}
	res, err := a.IdentifyParty(ctx, identify("Acme Bank"))
	if err != nil {
		t.Fatal(err)
	}
	id := domain.PartyID(strings.TrimPrefix(res.Stream, domain.PartyStreamPrefix))
	str := func(s string) *string { return &s }
	if _, err := a.LoadParty(ctx, id); err != nil { // a's cache holds version 1
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name    string
		ifMatch bool
		want    string
	}{{"no If-Match", false, domain.ECONFLICT}, {"If-Match", true, domain.EPRECONDITION}} {
		t.Run(tc.name, func(t *testing.T) {
			before, err := a.LoadParty(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			other := "changed by b " + tc.name
			hooked := &commands.Service{Store: &appendHook{Store: a.Store, before: func() {
				if _, err := b.ReviseParty(ctx, domain.ReviseParty{Meta: meta, PartyID: id, Owner: &other}, nil); err != nil {
					t.Errorf("b: %v", err)
				}
			}}, Reads: a.Reads, Now: a.Now, Cache: a.Cache}
			var im *int64
			if tc.ifMatch {
				v := before.Version
				im = &v
			}
			_, err = hooked.ReviseParty(ctx, domain.ReviseParty{Meta: meta, PartyID: id, Description: str("by a " + tc.name)}, im)
			if got := domain.ErrorCode(err); got != tc.want {
				t.Fatalf("a's revision racing b's: code %q (%v), want %q", got, err, tc.want)
			}
			after, err := a.LoadParty(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if after.Owner != other || after.Version != before.Version+1 {
				t.Errorf("after the race: owner %q at version %d; want b's %q at %d", after.Owner, after.Version, other, before.Version+1)
			}
			// Retried, a's revision lands on top of b's.
			if _, err := a.ReviseParty(ctx, domain.ReviseParty{Meta: meta, PartyID: id, Description: str("by a " + tc.name)}, nil); err != nil {
				t.Fatal(err)
			}
			after, _ = a.LoadParty(ctx, id)
			if after.Owner != other || after.Description != "by a "+tc.name {
				t.Errorf("after the retry: owner %q, description %q; want both writes", after.Owner, after.Description)
			}
		})
	}
}

// TestWaitDeadline: a read model that does not catch up makes a command
// fail within the wait timeout with an error matching ErrUnavailable (the
// API's 503), having stored its events, instead of hanging.
func TestWaitDeadline(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"), sqlite.Options{Synchronous: sqlite.SynchronousNormal})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	db, err := sqlite.OpenDB(filepath.Join(dir, "read.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rm, err := projections.Open(ctx, db, store, nil) // never Run: it stays behind
	if err != nil {
		t.Fatal(err)
	}
	svc := &commands.Service{Store: store, Reads: rm, WaitTimeout: 200 * time.Millisecond}
	start := time.Now()
	_, err = svc.IdentifyParty(ctx, identify("Acme Bank"))
	if !errors.Is(err, commands.ErrReadModelBehind) || !errors.Is(err, eventstore.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrReadModelBehind matching ErrUnavailable", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s, want about the 200 ms wait timeout", d)
	}
	if head, _, _ := store.Head(ctx); head == 0 {
		t.Errorf("nothing stored; the events must be stored before the wait")
	}
}

// TestFoldCacheBound: the cache stays within its memory bound, and a
// command on an evicted party folds it again.
func TestFoldCacheBound(t *testing.T) {
	ctx := context.Background()
	svc, _ := MustOpenService(t)
	svc.Cache = commands.NewFoldCache(8 << 10)
	var ids []domain.PartyID
	for i := range 40 {
		res, err := svc.IdentifyParty(ctx, identify(fmt.Sprintf("Party %d", i)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, domain.PartyID(strings.TrimPrefix(res.Stream, domain.PartyStreamPrefix)))
	}
	n, bytes := svc.Cache.Stats()
	if bytes > 8<<10 || n >= 40 {
		t.Errorf("cache holds %d streams, %d bytes; want at most 8 KiB and some evicted", n, bytes)
	}
	p, err := svc.LoadParty(ctx, ids[0])
	if err != nil || p.Name != "Party 0" || p.Version != 1 {
		t.Fatalf("evicted party reloaded: %+v, %v", p, err)
	}
	// Probes of unknown ids count too: they cannot grow the cache.
	for range 200 {
		if _, err := svc.LoadParty(ctx, domain.PartyID(uuid.NewString())); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Fatalf("unknown party: %v, want ENOTFOUND", err)
		}
	}
	if n, bytes := svc.Cache.Stats(); bytes > 8<<10 || n > 8<<10/256 {
		t.Errorf("after 200 unknown ids the cache holds %d streams, %d bytes; want at most 8 KiB", n, bytes)
	}
}

// TestNameUniquenessRaceJetStream: two processes' worth of stores,
// services and read models on one embedded NATS JetStream server race for
// one name: exactly one create wins.
func TestNameUniquenessRaceJetStream(t *testing.T) {
	ok, conflicts := raceOneName(t, 50, MustOpenJetStreamServices(t, 2)...)
	if ok != 1 || conflicts != 49 {
		t.Fatalf("50 concurrent creates of one name on two stores: %d created, %d conflicts; want 1 and 49", ok, conflicts)
	}
}

// MustOpenJetStreamServices starts an embedded NATS JetStream server and
// returns n services, each with its own store client and read model (n
// processes' worth) on the one JetStream stream.
func MustOpenJetStreamServices(t *testing.T, n int) []*commands.Service {
	t.Helper()
	srv, err := embedded.Start(embedded.Config{StoreDir: t.TempDir(), Port: -1, MonitorPort: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	var svcs []*commands.Service
	for i := range n {
		nc, err := nats.Connect(srv.ClientURL())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		st, err := jetstream.Open(t.Context(), nc, jetstream.Options{Profile: jetstream.ProfileDev, Stream: "RACE", SubjectPrefix: "race.events"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		db, err := sqlite.OpenDB(filepath.Join(t.TempDir(), fmt.Sprintf("read%d.db", i)), sqlite.WithSynchronous(sqlite.SynchronousNormal))
		if err != nil {
			t.Fatal(err)
		}
		rm, err := projections.Open(t.Context(), db, st, nil)
		if err != nil {
			t.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- rm.Run(runCtx) }()
		t.Cleanup(func() { cancel(); <-done; db.Close() })
		svcs = append(svcs, &commands.Service{Store: st, Reads: rm})
	}
	return svcs
}
