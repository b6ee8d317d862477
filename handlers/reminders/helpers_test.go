package reminders_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore/sqlite"
	"github.com/partyledger/partyledger/handlers/commands"
	"github.com/partyledger/partyledger/handlers/reminders"
	"github.com/partyledger/partyledger/handlers/reminders/smtptest"
	"github.com/partyledger/partyledger/projections"
)

// env is the real core on temporary SQLite files plus the reminders.
type env struct {
	dbPath string
	store  *sqlite.Store
	reads  *projections.ReadModel
	svc    *commands.Service
	cts    *reminders.Contacts
	plan   *reminders.Planner
	close  func()
}

// now is the fixed time of the tests: 09:00 in Berlin on 2 March 2026.
var now = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

func berlin(tb testing.TB) *time.Location {
	tb.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		tb.Fatal(err)
	}
	return loc
}

// MustOpenEnv opens the core on the event log at dbPath (a new one when
// empty); it is closed at the end of the test or by env.close.
func MustOpenEnv(tb testing.TB, dbPath string) *env {
	tb.Helper()
	if dbPath == "" {
		dbPath = filepath.Join(tb.TempDir(), "events.db")
	}
	ctx := context.Background()
	store, err := sqlite.Open(ctx, dbPath, sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	rdb, err := sqlite.OpenDB(dbPath+".readmodel", sqlite.WithSynchronous(sqlite.SynchronousNormal))
	if err != nil {
		tb.Fatal(err)
	}
	reads, err := projections.Open(ctx, rdb, store, nil)
	if err != nil {
		tb.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = reads.Run(rctx)
	}()
	e := &env{dbPath: dbPath, store: store, reads: reads,
		svc: &commands.Service{Store: store, Reads: reads, Now: func() time.Time { return now }}}
	e.cts = &reminders.Contacts{Log: store, Index: reads, Now: func() time.Time { return now }}
	e.plan = &reminders.Planner{Sources: reads}
	var once sync.Once
	e.close = func() {
		once.Do(func() {
			cancel()
			<-done
			rdb.Close()
			store.Close()
		})
	}
	tb.Cleanup(e.close)
	return e
}

// runner returns a runner over e that sends through ms with fast retries.
func (e *env) runner(tb testing.TB, ms *smtptest.Server) *reminders.Runner {
	return &reminders.Runner{Log: e.store, Planner: e.plan, Contacts: e.cts,
		Mailer: &reminders.SMTP{Addr: ms.Addr, TLS: reminders.TLSNone, Timeout: 5 * time.Second},
		From:   "partyledger@example.com", BaseURL: "https://isms.example.com",
		Location: berlin(tb), Attempts: 3, Backoff: 20 * time.Millisecond,
		Now: func() time.Time { return now }}
}

var meta = domain.Meta{Actor: "alice", Reason: "test setup", Trigger: "other"}

// fixture is the register of the tests: what is due, for whom.
type fixture struct {
	encrypt, backups, escrow domain.RequirementID
	plan                     domain.PlanEntryID
	party                    domain.PartyID
}

// MustLoadFixture records, 40 days before now: a party owned by Sales with
// an undecided requirement of the CISO (Backups), a requirement of the CISO
// whose review was due yesterday (Encrypt), one of the Head of Legal due
// today (Escrow), and a monthly communication by the Comms Lead; and the
// contacts of the CISO (two) and of the Head of Legal.
func (e *env) MustLoadFixture(tb testing.TB) fixture {
	tb.Helper()
	ctx := context.Background()
	past := now.AddDate(0, 0, -40)
	e.svc.Now = func() time.Time { return past }
	defer func() { e.svc.Now = func() time.Time { return now } }()
	res, err := e.svc.IdentifyParty(ctx, domain.IdentifyParty{Meta: meta, Name: "Acme Bank", Category: "customer",
		Scope: "external", Owner: "Sales", Influence: 4, Interest: 4})
	if err != nil {
		tb.Fatal(err)
	}
	var f fixture
	f.party = domain.PartyID(strings.TrimPrefix(res.Stream, domain.PartyStreamPrefix))
	yes := true
	for _, r := range []struct {
		id                *domain.RequirementID
		title, owner, due string
		addressed         *bool
	}{
		{&f.encrypt, "Encrypt card data", "CISO", "2026-03-01", &yes},
		{&f.backups, "Offsite backups", "CISO", "", nil},
		{&f.escrow, "Source code escrow", "Head of Legal", "2026-03-02", &yes},
	} {
		res, err := e.svc.IdentifyRequirement(ctx, domain.IdentifyRequirement{Meta: meta, PartyID: f.party,
			Kind: "requirement", Title: r.title, Owner: r.owner, ReviewDue: r.due, Addressed: r.addressed,
			Rationale: "contract"}, nil)
		if err != nil {
			tb.Fatal(err)
		}
		var ev domain.RequirementIdentified
		de, _ := domain.Decode(res.Events[0].Type, res.Events[0].Schema, res.Events[0].Data)
		ev = de.(domain.RequirementIdentified)
		*r.id = ev.RequirementID
	}
	pres, err := e.svc.PlanCommunication(ctx, domain.PlanCommunication{Meta: meta, PartyID: f.party,
		Topic: "Service report", When: "monthly", Channel: "email", Communicator: "Comms Lead"}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	de, _ := domain.Decode(pres.Events[0].Type, pres.Events[0].Schema, pres.Events[0].Data)
	f.plan = de.(domain.CommunicationPlanned).PlanEntryID
	e.svc.Now = func() time.Time { return now }
	for owner, emails := range map[string][]string{
		"CISO":          {"ciso@example.com", "Deputy CISO <deputy@example.com>"},
		"Head of Legal": {"legal@example.com"},
	} {
		if _, err := e.cts.Set(ctx, owner, emails, meta); err != nil {
			tb.Fatal(err)
		}
	}
	return f
}
