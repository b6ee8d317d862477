package reminders_test

import (
	"context"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore/sqlite"
	"github.com/partyledger/partyledger/handlers/commands"
	"github.com/partyledger/partyledger/handlers/reminders"
	"github.com/partyledger/partyledger/projections"
)

// received is one message the test SMTP server accepted.
type received struct {
	From string
	To   []string
	Data string
}

// mailServer is a real SMTP server (go-smtp) on loopback that keeps what it
// receives. While failing is set it refuses every message with 554, and
// counts the attempts.
type mailServer struct {
	Addr string

	mu       sync.Mutex
	msgs     []received
	failing  bool
	attempts int
}

func (m *mailServer) messages() []received {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]received(nil), m.msgs...)
}

func (m *mailServer) setFailing(f bool) {
	m.mu.Lock()
	m.failing = f
	m.mu.Unlock()
}

func (m *mailServer) attemptCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.attempts
}

func (m *mailServer) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailSession{srv: m}, nil }

type mailSession struct {
	srv *mailServer
	cur received
}

func (s *mailSession) Reset()        { s.cur = received{} }
func (s *mailSession) Logout() error { return nil }
func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	s.cur.From = from
	return nil
}
func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.To = append(s.cur.To, to)
	return nil
}
func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	s.srv.attempts++
	if s.srv.failing {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 3, 0}, Message: "refused by the test"}
	}
	s.cur.Data = string(b)
	s.srv.msgs = append(s.srv.msgs, s.cur)
	return nil
}

// MustStartMailServer serves SMTP on 127.0.0.1:0 until the test ends.
func MustStartMailServer(tb testing.TB) *mailServer {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ms := &mailServer{Addr: ln.Addr().String()}
	srv := smtp.NewServer(ms)
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln) // ends with ErrServerClosed or the closed listener's error

	}()
	tb.Cleanup(func() {
		srv.Close()
		ln.Close() // Serve may not have registered ln yet when Close ran
		<-done
	})
	return ms
}

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
func (e *env) runner(tb testing.TB, ms *mailServer) *reminders.Runner {
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
