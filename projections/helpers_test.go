package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/eventstore/sqlite"
)

// t0 is the time of the first event of every test ledger.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// MustOpenStore opens a SQLite event store in a temporary directory.
func MustOpenStore(tb testing.TB) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "events.db"), sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// MustOpenDB opens a read-model database in a temporary directory.
func MustOpenDB(tb testing.TB) *sql.DB {
	tb.Helper()
	db, err := sqlite.OpenDB(filepath.Join(tb.TempDir(), "read.db"), sqlite.WithSynchronous(sqlite.SynchronousNormal))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// MustOpenReadModel opens a read model on a fresh database following store.
func MustOpenReadModel(tb testing.TB, store eventstore.Store) *ReadModel {
	tb.Helper()
	m, err := Open(context.Background(), MustOpenDB(tb), store, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// MustRun runs m.Run in the background until the test ends and fails the
// test if Run stops with anything but cancellation.
func MustRun(tb testing.TB, m *ReadModel) (stop func()) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	var stopped bool
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			tb.Errorf("Run: %v", err)
		}
	}
	tb.Cleanup(stop)
	return stop
}

// MustWait waits until m has applied position.
func MustWait(tb testing.TB, m *ReadModel, position int64) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.WaitFor(ctx, position); err != nil {
		tb.Fatal(err)
	}
}

// ledger writes events to a store through the domain's decisions, with a
// clock that advances one minute per event.
type ledger struct {
	tb      testing.TB
	store   eventstore.Store
	now     time.Time
	parties map[domain.PartyID]*domain.Party
	reviews map[domain.ReviewID]*domain.ManagementReview
	head    int64 // position of the last appended event
}

func newLedger(tb testing.TB, store eventstore.Store) *ledger {
	return &ledger{tb: tb, store: store, now: t0,
		parties: map[domain.PartyID]*domain.Party{},
		reviews: map[domain.ReviewID]*domain.ManagementReview{}}
}

func meta(reason string) domain.Meta {
	return domain.Meta{Actor: "alice@example.com", Reason: reason, Trigger: "periodic_review"}
}

// append stores evs in stream and returns them as stored.
func (l *ledger) append(stream string, version int64, m domain.Meta, evs []domain.Event) []eventstore.Event {
	l.tb.Helper()
	var out []eventstore.Event
	for _, de := range evs {
		data, err := json.Marshal(de)
		if err != nil {
			l.tb.Fatal(err)
		}
		out = append(out, eventstore.Event{ID: uuid.Must(uuid.NewV7()).String(), Type: de.EventType(),
			Schema: domain.CurrentSchema, Time: l.now, Actor: m.Actor, Reason: m.Reason,
			Trigger: m.TriggerOrDefault(), EffectiveOn: m.EffectiveOn, Data: data})
		l.now = l.now.Add(time.Minute)
	}
	stored, err := l.store.Append(context.Background(), stream, version, out)
	if err != nil {
		l.tb.Fatalf("append to %s: %v", stream, err)
	}
	l.head = stored[len(stored)-1].Position
	return stored
}

// party runs a decision on party id and appends its events.
func (l *ledger) party(id domain.PartyID, m domain.Meta, decide func(p *domain.Party, now time.Time) ([]domain.Event, error)) {
	l.tb.Helper()
	p := l.parties[id]
	if p == nil {
		p = &domain.Party{}
	}
	evs, err := decide(p, l.now)
	if err != nil {
		l.tb.Fatalf("decide on party %s: %v", id, err)
	}
	if len(evs) == 0 {
		l.tb.Fatalf("decision on party %s changed nothing", id)
	}
	l.append(id.Stream(), p.Version, m, evs)
	for _, e := range evs {
		p.Apply(e)
	}
	l.parties[id] = p
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func (l *ledger) identify(name, category, scope string, parent domain.PartyID) domain.PartyID {
	l.tb.Helper()
	id := domain.PartyID(newID())
	cmd := domain.IdentifyParty{Meta: meta(""), PartyID: id, Name: name, Category: category,
		Scope: scope, Description: "about " + name, Owner: "CISO", Influence: 3, Interest: 4}
	if parent != "" {
		cmd.ParentID = &parent
	}
	l.party(id, cmd.Meta, func(p *domain.Party, now time.Time) ([]domain.Event, error) {
		return p.Identify(cmd, l, now)
	})
	return id
}

func (l *ledger) revise(cmd domain.ReviseParty) {
	l.tb.Helper()
	cmd.Meta = meta("revised")
	l.party(cmd.PartyID, cmd.Meta, func(p *domain.Party, now time.Time) ([]domain.Event, error) {
		return p.Revise(cmd, l, now)
	})
}

func (l *ledger) retire(id domain.PartyID) {
	l.tb.Helper()
	cmd := domain.RetireParty{Meta: meta("no longer relevant"), PartyID: id}
	l.party(id, cmd.Meta, func(p *domain.Party, now time.Time) ([]domain.Event, error) {
		return p.Retire(cmd, now)
	})
}

func (l *ledger) requirement(party domain.PartyID, kind, title string) domain.RequirementID {
	l.tb.Helper()
	id := domain.RequirementID(newID())
	cmd := domain.IdentifyRequirement{Meta: meta(""), PartyID: party, RequirementID: id, Kind: kind,
		Title: title, Description: "text of " + title, SourceType: "contract", SourceRef: "MSA §7.2",
		Owner: "DPO", Priority: "high", ReviewDue: "2026-12-31"}
	l.party(party, cmd.Meta, func(p *domain.Party, now time.Time) ([]domain.Event, error) {
		return p.IdentifyRequirement(cmd, now)
	})
	return id
}

func (l *ledger) reviseRequirement(cmd domain.ReviseRequirement) {
	l.tb.Helper()
	cmd.Meta = meta("requirement revised")
	l.party(cmd.PartyID, cmd.Meta, func(p *domain.Party, now time.Time) ([]domain.Event, error) {
		return p.ReviseRequirement(cmd, now)
	})
}

func (l *ledger) decide(cmd domain.DecideAddressing) {
	l.tb.Helper()
	cmd.Meta = meta("addressing decided")
	l.party(cmd.PartyID, cmd.Meta, func(p *domain.Party, now time.Time) ([]domain.Event, error) {
		return p.DecideAddressing(cmd, now)
	})
}

func (l *ledger) retireRequirement(party domain.PartyID, id domain.RequirementID) {
	l.tb.Helper()
	cmd := domain.RetireRequirement{Meta: meta("obsolete"), PartyID: party, RequirementID: id}
	l.party(party, cmd.Meta, func(p *domain.Party, now time.Time) ([]domain.Event, error) {
		return p.RetireRequirement(cmd, now)
	})
}

func (l *ledger) review(title string) domain.ReviewID {
	l.tb.Helper()
	id := domain.ReviewID(newID())
	r := &domain.ManagementReview{}
	cmd := domain.HoldManagementReview{Meta: meta(""), ReviewID: id,
		HeldOn: l.now.Format(domain.DateLayout), Title: title, Attendees: []string{"CEO", "CISO"}, Notes: "ok"}
	evs, err := r.Hold(cmd, domain.ReviewLog{Head: l.head}, l.now)
	if err != nil {
		l.tb.Fatal(err)
	}
	l.append(id.Stream(), 0, cmd.Meta, evs)
	for _, e := range evs {
		r.Apply(e)
	}
	l.reviews[id] = r
	return id
}

// Directory, for the decisions.

func (l *ledger) ActivePartyByName(name string) (domain.PartyID, bool) {
	for id, p := range l.parties {
		if p.Status == domain.StatusActive && domain.NormalizeName(p.Name) == domain.NormalizeName(name) {
			return id, true
		}
	}
	return "", false
}

func (l *ledger) PartyStatus(id domain.PartyID) string {
	if p := l.parties[id]; p != nil {
		return p.Status
	}
	return ""
}

func (l *ledger) ParentOf(id domain.PartyID) (domain.PartyID, bool) {
	if p := l.parties[id]; p != nil && p.ParentID != nil {
		return *p.ParentID, true
	}
	return "", false
}

func ptr[T any](v T) *T { return &v }

// dumpTables returns every row of every read-model table, in primary-key
// order: the raw state that live updates and a rebuild must agree on.
func dumpTables(tb testing.TB, db *sql.DB) map[string][][]any {
	tb.Helper()
	out := map[string][][]any{}
	for _, t := range []string{"checkpoints", "parties", "requirements", "reviews", "changes",
		"change_parties", "change_requirements", "review_actions", "settings",
		"register_snapshots", "register_snapshot_parties", "audit_index"} {
		rows, err := db.Query(`SELECT * FROM ` + t + ` ORDER BY 1`)
		if err != nil {
			tb.Fatal(err)
		}
		cols, _ := rows.Columns()
		out[t] = [][]any{}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				tb.Fatal(err)
			}
			for i, v := range vals {
				if b, ok := v.([]byte); ok {
					vals[i] = string(b)
				}
			}
			out[t] = append(out[t], vals)
		}
		if err := rows.Err(); err != nil {
			tb.Fatal(err)
		}
		rows.Close()
	}
	return out
}

// views is everything the queries return for a fixed set of arguments.
type views struct {
	Checkpoint int64
	Register   map[string][]PartyView
	Parties    map[string][]PartyView
	Party      map[string]PartyView
	ByName     map[string]string
	Parents    map[string][2]string
	Reviews    []ReviewView
	Review     map[string]ReviewView
	Last       ReviewView
	Changes    map[string][]ChangeItem
	Net        map[string][]NetItem
}

var filters = map[string]PartyFilter{
	"default":  {},
	"all":      {Status: "all"},
	"retired":  {Status: "retired"},
	"external": {Scope: "external"},
	"supplier": {Category: "supplier", Status: "all"},
}

// mustViews runs every query against m.
func mustViews(tb testing.TB, m *ReadModel) views {
	tb.Helper()
	ctx := context.Background()
	v := views{Register: map[string][]PartyView{}, Parties: map[string][]PartyView{},
		Party: map[string]PartyView{}, ByName: map[string]string{}, Parents: map[string][2]string{},
		Review: map[string]ReviewView{}, Changes: map[string][]ChangeItem{}, Net: map[string][]NetItem{}}
	var err error
	if v.Checkpoint, err = m.Checkpoint(ctx); err != nil {
		tb.Fatal(err)
	}
	for name, f := range filters {
		if v.Register[name], err = m.Register(ctx, f); err != nil {
			tb.Fatal(err)
		}
		if v.Parties[name], err = m.Parties(ctx, f); err != nil {
			tb.Fatal(err)
		}
	}
	for _, p := range v.Parties["all"] {
		if v.Party[p.ID], err = m.Party(ctx, p.ID); err != nil {
			tb.Fatal(err)
		}
		id, ok, err := m.ActivePartyByName(ctx, "  "+strings.ToUpper(p.Name)+" ")
		if err != nil {
			tb.Fatal(err)
		}
		v.ByName[p.Name] = fmt.Sprint(id, ok)
		parent, status, err := m.PartyParent(ctx, p.ID)
		if err != nil {
			tb.Fatal(err)
		}
		v.Parents[p.ID] = [2]string{parent, status}
	}
	if v.Reviews, err = m.Reviews(ctx); err != nil {
		tb.Fatal(err)
	}
	for _, r := range v.Reviews {
		if v.Review[r.ID], err = m.Review(ctx, r.ID); err != nil {
			tb.Fatal(err)
		}
	}
	if v.Last, _, err = m.LastReview(ctx); err != nil {
		tb.Fatal(err)
	}
	windows := map[string]Window{
		"all":         {},
		"since last":  {After: v.Last.Position},
		"first 10":    {Until: 10},
		"5 to 20":     {After: 5, Until: 20},
		"time":        {FromTime: t0.Add(10 * time.Minute), UntilTime: t0.Add(30 * time.Minute)},
		"limit":       {After: 3, Limit: 4},
		"from review": {After: 0, Until: v.Last.Position},
	}
	for name, w := range windows {
		if v.Changes[name], err = m.Changes(ctx, w); err != nil {
			tb.Fatal(err)
		}
		v.Net[name] = NetChanges(v.Changes[name])
	}
	return v
}
