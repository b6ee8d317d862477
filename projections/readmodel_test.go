package projections

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// scenario writes a register's life: parties with parents, requirements,
// revisions (renames included), addressing decisions, retirements and two
// management reviews. step is called between commands, so a test can let the
// read model catch up in between (many small batches).
func scenario(l *ledger, step func()) (customers, acme, gov domain.PartyID) {
	customers = l.identify("Customers", "customer", "external", "")
	step()
	acme = l.identify("Acme Hosting", "supplier", "external", "")
	staff := l.identify("Staff", "employee", "internal", "")
	gov = l.identify("Government customers", "government_customer", "external", customers)
	step()
	sla := l.requirement(acme, "requirement", "99.9 % availability")
	gdpr := l.requirement(customers, "requirement", "GDPR Art. 32")
	l.review("Q1 review")
	step()
	ethics := l.requirement(staff, "expectation", "Ethical conduct")
	l.revise(domain.ReviseParty{PartyID: acme, Name: ptr("ACME Hosting GmbH"), Influence: ptr(5)})
	l.decide(domain.DecideAddressing{PartyID: acme, RequirementID: sla, Addressed: ptr(true),
		Rationale: "core service", Treatment: "monitoring", Controls: []string{"A.5.19", "A.5.20"}})
	step()
	l.reviseRequirement(domain.ReviseRequirement{PartyID: customers, RequirementID: gdpr,
		Title: ptr("GDPR Art. 32 security"), ReviewDue: ptr("")})
	l.retireRequirement(staff, ethics)
	old := l.identify("Old insurer", "insurer", "external", "")
	l.requirement(old, "requirement", "Cyber cover")
	l.retire(old)
	step()
	l.review("Q2 review")
	l.revise(domain.ReviseParty{PartyID: gov, ParentID: ptr(domain.PartyID("")), Scope: ptr("external"),
		Description: ptr("ministries")})
	l.decide(domain.DecideAddressing{PartyID: acme, RequirementID: sla, Addressed: ptr(false),
		Rationale: "outsourced", Controls: []string{"A.5.19"}})
	tmp := l.requirement(gov, "expectation", "Sovereign cloud")
	l.retireRequirement(gov, tmp)
	l.revise(domain.ReviseParty{PartyID: staff, Name: ptr("Employees"), Interest: ptr(5)})
	step()
	return customers, acme, gov
}

// TestLiveEqualsRebuild checks that Run applying the log in many small
// batches, a fresh model catching up in big ones, and Rebuild all give the
// same rows and the same query results.
func TestLiveEqualsRebuild(t *testing.T) {
	store := MustOpenStore(t)
	live := MustOpenReadModel(t, store)
	stopLive := MustRun(t, live)
	l := newLedger(t, store)
	scenario(l, func() { MustWait(t, live, l.head) })
	MustWait(t, live, l.head)

	liveRows, liveViews := dumpTables(t, live.db), mustViews(t, live)
	if liveViews.Checkpoint != l.head {
		t.Fatalf("checkpoint = %d, want %d", liveViews.Checkpoint, l.head)
	}

	// A second model catching up from zero.
	fresh := MustOpenReadModel(t, store)
	MustRun(t, fresh)
	MustWait(t, fresh, l.head)
	if diff := cmp.Diff(liveRows, dumpTables(t, fresh.db)); diff != "" {
		t.Errorf("catch-up rows differ from live (-live +catch-up):\n%s", diff)
	}
	if diff := cmp.Diff(liveViews, mustViews(t, fresh)); diff != "" {
		t.Errorf("catch-up views differ from live (-live +catch-up):\n%s", diff)
	}

	// Rebuild the live model in place, with Run stopped as documented.
	stopLive()
	rebuilt := live
	if err := rebuilt.Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(liveRows, dumpTables(t, rebuilt.db)); diff != "" {
		t.Errorf("rebuilt rows differ from live (-live +rebuilt):\n%s", diff)
	}
	if diff := cmp.Diff(liveViews, mustViews(t, rebuilt)); diff != "" {
		t.Errorf("rebuilt views differ from live (-live +rebuilt):\n%s", diff)
	}
}

// TestRegisterMatchesDomainFold checks the register against the domain's own
// fold of each party stream.
func TestRegisterMatchesDomainFold(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	m := MustOpenReadModel(t, store)
	MustRun(t, m)
	l := newLedger(t, store)
	scenario(l, func() {})
	MustWait(t, m, l.head)

	for id := range l.parties {
		evs, err := store.ReadStream(ctx, id.Stream(), 1)
		if err != nil {
			t.Fatal(err)
		}
		var des []domain.Event
		for _, ev := range evs {
			de, err := domain.Decode(ev.Type, ev.Schema, ev.Data)
			if err != nil {
				t.Fatal(err)
			}
			des = append(des, de)
		}
		p := domain.FoldParty(des)
		want := PartyView{ID: string(p.ID), Version: p.Version, Name: p.Name, Category: p.Category,
			Scope: p.Scope, Description: p.Description, Owner: p.Owner, Influence: p.Influence,
			Interest: p.Interest, Status: p.Status,
			CreatedAt: evs[0].Time, UpdatedAt: evs[len(evs)-1].Time}
		if p.ParentID != nil {
			want.ParentID = ptr(string(*p.ParentID))
		}
		for _, rid := range p.Order {
			r := p.Requirements[rid]
			var created, updated time.Time
			for _, ev := range evs {
				var data struct {
					RequirementID string `json:"requirement_id"`
				}
				json.Unmarshal(ev.Data, &data)
				if data.RequirementID == string(rid) {
					if created.IsZero() {
						created = ev.Time
					}
					updated = ev.Time
				}
			}
			want.Requirements = append(want.Requirements, RequirementView{ID: string(r.ID),
				PartyID: string(r.PartyID), Kind: r.Kind, Title: r.Title, Description: r.Description,
				SourceType: r.SourceType, SourceRef: r.SourceRef, Owner: r.Owner, Priority: r.Priority,
				ReviewDue: r.ReviewDue, Addressed: r.Addressed, Rationale: r.Rationale,
				Treatment: r.Treatment, Controls: r.Controls, Status: r.Status,
				CreatedAt: created, UpdatedAt: updated})
		}
		got, err := m.Party(ctx, string(id))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("party %s (-fold +register):\n%s", p.Name, diff)
		}
	}
}

func TestQueries(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	m := MustOpenReadModel(t, store)
	MustRun(t, m)
	l := newLedger(t, store)
	customers, acme, gov := scenario(l, func() {})
	MustWait(t, m, l.head)

	names := func(ps []PartyView) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Name)
		}
		return out
	}
	reg, err := m.Register(ctx, PartyFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"Employees", "ACME Hosting GmbH", "Customers", "Government customers"}, names(reg)); diff != "" {
		t.Errorf("register order (-want +got):\n%s", diff)
	}
	for _, p := range reg {
		for _, r := range p.Requirements {
			if r.Status != domain.StatusActive {
				t.Errorf("register shows retired requirement %q of %s", r.Title, p.Name)
			}
		}
		if p.Name == "Employees" && len(p.Requirements) != 0 {
			t.Errorf("Employees: %d active requirements, want 0", len(p.Requirements))
		}
	}
	all, err := m.Parties(ctx, PartyFilter{Status: "all"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"ACME Hosting GmbH", "Customers", "Employees", "Government customers", "Old insurer"}, names(all)); diff != "" {
		t.Errorf("parties order (-want +got):\n%s", diff)
	}
	for _, p := range all {
		if p.Requirements != nil {
			t.Errorf("Parties returned requirements for %s", p.Name)
		}
	}
	retired, err := m.Parties(ctx, PartyFilter{Status: "retired"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"Old insurer"}, names(retired)); diff != "" {
		t.Errorf("retired (-want +got):\n%s", diff)
	}
	internal, err := m.Register(ctx, PartyFilter{Scope: "internal", Category: "employee"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"Employees"}, names(internal)); diff != "" {
		t.Errorf("internal employees (-want +got):\n%s", diff)
	}

	p, err := m.Party(ctx, string(gov))
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != l.parties[gov].Version || p.ParentID != nil || p.Description != "ministries" {
		t.Errorf("gov = version %d parent %v description %q; want version %d, no parent, ministries",
			p.Version, p.ParentID, p.Description, l.parties[gov].Version)
	}
	if len(p.Requirements) != 1 || p.Requirements[0].Status != domain.StatusRetired {
		t.Errorf("gov requirements = %+v, want the retired one", p.Requirements)
	}
	a, err := m.Party(ctx, string(acme))
	if err != nil {
		t.Fatal(err)
	}
	if r := a.Requirements[0]; r.Addressed == nil || *r.Addressed || r.Rationale != "outsourced" ||
		!cmp.Equal(r.Controls, []string{"A.5.19"}) || r.Treatment != "" {
		t.Errorf("acme SLA addressing = %v %q %q %v", r.Addressed, r.Rationale, r.Treatment, r.Controls)
	}
	if a.Influence != 5 || a.Interest != 4 {
		t.Errorf("acme influence/interest = %d/%d, want 5/4", a.Influence, a.Interest)
	}
	if !a.CreatedAt.Equal(t0.Add(time.Minute)) || !a.UpdatedAt.After(a.CreatedAt) {
		t.Errorf("acme created %v updated %v", a.CreatedAt, a.UpdatedAt)
	}

	if _, err := m.Party(ctx, newID()); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("unknown party: err = %v, want ENOTFOUND", err)
	}
	if _, err := m.Review(ctx, newID()); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("unknown review: err = %v, want ENOTFOUND", err)
	}

	id, ok, err := m.ActivePartyByName(ctx, "  acme hosting gmbh ")
	if err != nil || !ok || id != string(acme) {
		t.Errorf("ActivePartyByName = %q %v %v, want %s", id, ok, err, acme)
	}
	if _, ok, _ := m.ActivePartyByName(ctx, "Old insurer"); ok {
		t.Error("ActivePartyByName found a retired party")
	}
	if _, ok, _ := m.ActivePartyByName(ctx, "Acme Hosting"); ok {
		t.Error("ActivePartyByName found a party by its old name")
	}

	parent, status, err := m.PartyParent(ctx, string(gov))
	if err != nil || parent != "" || status != domain.StatusActive {
		t.Errorf("PartyParent(gov) = %q %q %v, want no parent (removed), active", parent, status, err)
	}
	_ = customers
	parent, status, err = m.PartyParent(ctx, newID())
	if err != nil || parent != "" || status != "" {
		t.Errorf("PartyParent(unknown) = %q %q %v", parent, status, err)
	}

	revs, err := m.Reviews(ctx)
	if err != nil {
		t.Fatal(err)
	}
	last, ok, err := m.LastReview(ctx)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if len(revs) != 2 || revs[0].Title != "Q1 review" || !cmp.Equal(last, revs[1]) {
		t.Errorf("reviews = %+v, last = %+v", revs, last)
	}
	if last.RecordedBy != "alice@example.com" || !cmp.Equal(last.Attendees, []string{"CEO", "CISO"}) {
		t.Errorf("last review = %+v", last)
	}
}

func TestEmptyModel(t *testing.T) {
	ctx := context.Background()
	m := MustOpenReadModel(t, MustOpenStore(t))
	if _, ok, err := m.LastReview(ctx); ok || err != nil {
		t.Errorf("LastReview on empty = %v, %v", ok, err)
	}
	if cp, err := m.Checkpoint(ctx); cp != 0 || err != nil {
		t.Errorf("Checkpoint = %d, %v", cp, err)
	}
	if err := m.Rebuild(ctx); err != nil {
		t.Errorf("Rebuild of an empty log: %v", err)
	}
	if items, err := m.Changes(ctx, Window{}); len(items) != 0 || err != nil {
		t.Errorf("Changes = %v, %v", items, err)
	}
}

func TestFilterValidation(t *testing.T) {
	m := MustOpenReadModel(t, MustOpenStore(t))
	_, err := m.Register(context.Background(), PartyFilter{Status: "gone", Scope: "outer", Category: "supplier"})
	var de *domain.Error
	if !errors.As(err, &de) || de.Code != domain.EINVALID {
		t.Fatalf("err = %v, want EINVALID", err)
	}
	var fields []string
	for _, f := range de.Fields {
		fields = append(fields, f.Field)
	}
	if diff := cmp.Diff([]string{"status", "scope"}, fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	if _, err := m.Parties(context.Background(), PartyFilter{Category: "alien"}); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("bad category: err = %v", err)
	}
}

// TestApplyTwice checks at-least-once delivery: applying events that are
// already applied, alone or overlapping new ones, changes nothing.
func TestApplyTwice(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	l := newLedger(t, store)
	scenario(l, func() {})
	events, err := store.ReadAll(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}

	once := MustOpenReadModel(t, store)
	if err := once.apply(ctx, events); err != nil {
		t.Fatal(err)
	}
	want := dumpTables(t, once.db)

	m := MustOpenReadModel(t, store)
	for _, batch := range [][]eventstore.Event{events[:10], events[:10], events[5:20], events[:], events[3:4], events} {
		if err := m.apply(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(want, dumpTables(t, m.db)); diff != "" {
		t.Errorf("rows after redelivery differ (-once +redelivered):\n%s", diff)
	}
	// A batch with an event twice in it.
	m2 := MustOpenReadModel(t, store)
	dup := append(append([]eventstore.Event{}, events[:7]...), events[6:]...)
	if err := m2.apply(ctx, dup); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, dumpTables(t, m2.db)); diff != "" {
		t.Errorf("rows after in-batch duplicate differ (-once +dup):\n%s", diff)
	}
}

// TestCheckpointsResumeIndependently checks that each projection resumes
// from its own checkpoint: one reset to 0 (as a migration would) catches up
// without touching the others.
func TestCheckpointsResumeIndependently(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	m := MustOpenReadModel(t, store)
	stop := MustRun(t, m)
	l := newLedger(t, store)
	scenario(l, func() {})
	MustWait(t, m, l.head)
	stop()
	want := dumpTables(t, m.db)

	if _, err := m.db.Exec(`DELETE FROM changes; DELETE FROM change_parties; DELETE FROM change_requirements;
		UPDATE checkpoints SET position = 0 WHERE name = 'changes'`); err != nil {
		t.Fatal(err)
	}
	if _, err := m.db.Exec(`UPDATE parties SET owner = 'untouched'`); err != nil {
		t.Fatal(err)
	}
	m2, err := Open(ctx, m.db, store, nil) // a restart
	if err != nil {
		t.Fatal(err)
	}
	if cp, _ := m2.Checkpoint(ctx); cp != 0 {
		t.Fatalf("Checkpoint = %d, want 0 (the lowest)", cp)
	}
	MustRun(t, m2)
	MustWait(t, m2, l.head)
	got := dumpTables(t, m2.db)
	if diff := cmp.Diff(want["changes"], got["changes"]); diff != "" {
		t.Errorf("re-projected feed differs (-before +after):\n%s", diff)
	}
	for _, row := range got["parties"] {
		if row[7] != "untouched" {
			t.Fatalf("register re-applied events below its checkpoint: %v", row)
		}
	}
}

func TestWaitFor(t *testing.T) {
	store := MustOpenStore(t)
	m := MustOpenReadModel(t, store)
	l := newLedger(t, store)

	if err := m.WaitFor(context.Background(), 0); err != nil {
		t.Errorf("WaitFor(0) = %v", err)
	}
	// Not running: the position is never reached and ctx decides.
	l.identify("Customers", "customer", "external", "")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := m.WaitFor(ctx, l.head); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitFor without Run = %v, want deadline exceeded", err)
	}

	MustRun(t, m)
	MustWait(t, m, l.head)
	// Waiters blocked before the append return once it is applied.
	done := make(chan error, 3)
	next := l.head + 1
	for range 3 {
		go func() { done <- m.WaitFor(context.Background(), next) }()
	}
	time.Sleep(10 * time.Millisecond) // let them block; correctness does not depend on it
	l.identify("Staff", "employee", "internal", "")
	for range 3 {
		select {
		case err := <-done:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("WaitFor did not return after the append was applied")
		}
	}
	if cp, _ := m.Checkpoint(context.Background()); cp < l.head {
		t.Errorf("WaitFor returned before the checkpoint (%d) reached %d", cp, l.head)
	}
}

// TestRunStopsOnBadEvent injects an event whose data does not decode: Run
// stops with an error, the batch it was in leaves neither rows nor
// checkpoint behind, and WaitFor reports the stop.
func TestRunStopsOnBadEvent(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	m := MustOpenReadModel(t, store)
	l := newLedger(t, store)
	scenario(l, func() {})
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := runUntilIdle(t, m, runCtx, l.head); err != nil {
		t.Fatal(err)
	}
	before := dumpTables(t, m.db)
	good := l.head

	// Good events, then a party.revised whose party_id is a number, in one
	// stream append: the store hands them over in one batch.
	id := domain.PartyID(newID())
	okData, _ := json.Marshal(domain.PartyIdentified{PartyID: id, Name: "Poisoned", Category: "other",
		Scope: "external", Influence: 1, Interest: 1})
	_, err := store.Append(ctx, id.Stream(), eventstore.NoStream, []eventstore.Event{
		{ID: newID(), Type: domain.EventPartyIdentified, Schema: 1, Time: t0, Actor: "a", Data: okData},
		{ID: newID(), Type: domain.EventPartyRevised, Schema: 1, Time: t0, Actor: "a", Data: []byte(`{"party_id": 5}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- m.Run(runCtx) }()
	select {
	case err := <-errc:
		if err == nil || errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v, want a decode error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop on an undecodable event")
	}
	if diff := cmp.Diff(before, dumpTables(t, m.db)); diff != "" {
		t.Errorf("failed batch left changes (-before +after):\n%s", diff)
	}
	if cp, _ := m.Checkpoint(ctx); cp != good {
		t.Errorf("checkpoint = %d, want %d", cp, good)
	}
	if err := m.WaitFor(ctx, good+1); !errors.Is(err, ErrStopped) {
		t.Errorf("WaitFor after Run failed = %v, want ErrStopped", err)
	}
	if err := m.WaitFor(ctx, good); err != nil {
		t.Errorf("WaitFor(applied) after Run failed = %v, want nil", err)
	}
}

// runUntilIdle runs m until it has applied position, then stops it.
func runUntilIdle(tb testing.TB, m *ReadModel, ctx context.Context, position int64) error {
	tb.Helper()
	ctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- m.Run(ctx) }()
	err := m.WaitFor(ctx, position)
	cancel()
	if runErr := <-errc; !errors.Is(runErr, context.Canceled) {
		return runErr
	}
	return err
}

// TestFailedBatchRollsBack applies batches that fail after some of their
// events were written (a bad event at the end, a cancelled context): nothing
// of them stays, and the model then applies the log as if they never ran.
func TestFailedBatchRollsBack(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	l := newLedger(t, store)
	scenario(l, func() {})
	events, err := store.ReadAll(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	want := MustOpenReadModel(t, store)
	if err := want.apply(ctx, events); err != nil {
		t.Fatal(err)
	}

	m := MustOpenReadModel(t, store)
	if err := m.apply(ctx, events[:8]); err != nil {
		t.Fatal(err)
	}
	before := dumpTables(t, m.db)

	// The poison sits mid-batch, after events whose rows the transaction
	// has already written.
	bad := events[14]
	bad.Data = []byte(`{"party_id": ["not", "a", "string"]}`)
	batch := append(append(append([]eventstore.Event{}, events[8:14]...), bad), events[15:20]...)
	if err := m.apply(ctx, batch); err == nil {
		t.Fatal("apply of a batch with an undecodable event succeeded")
	}
	if diff := cmp.Diff(before, dumpTables(t, m.db)); diff != "" {
		t.Errorf("failed batch left changes (-before +after):\n%s", diff)
	}

	newer := events[10]
	newer.Schema = domain.CurrentSchema + 1
	if err := m.apply(ctx, []eventstore.Event{events[8], events[9], newer}); err == nil {
		t.Fatal("apply of an event with a future schema succeeded")
	}
	if diff := cmp.Diff(before, dumpTables(t, m.db)); diff != "" {
		t.Errorf("failed batch left changes (-before +after):\n%s", diff)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := m.apply(cctx, events[8:]); err == nil {
		t.Fatal("apply with a cancelled context succeeded")
	}
	if diff := cmp.Diff(before, dumpTables(t, m.db)); diff != "" {
		t.Errorf("cancelled batch left changes (-before +after):\n%s", diff)
	}

	// Events of types this code does not project are skipped, not errors.
	other := eventstore.Event{Position: events[len(events)-1].Position + 1, ID: newID(),
		Type: "x-example.unknown", Schema: 1, Time: t0, Data: []byte(`{}`)}
	if err := m.apply(ctx, append(append([]eventstore.Event{}, events[8:]...), other)); err != nil {
		t.Fatal(err)
	}
	if cp, _ := m.Checkpoint(ctx); cp != other.Position {
		t.Errorf("checkpoint = %d, want %d (past the unknown event)", cp, other.Position)
	}
	if _, err := m.db.Exec(`UPDATE checkpoints SET position = ?`, events[len(events)-1].Position); err != nil {
		t.Fatal(err)
	}
	// The audit index, unlike the others, has a row for the unknown event.
	if n := len(dumpTables(t, m.db)["audit_index"]); n != len(events)+1 {
		t.Errorf("audit index has %d rows, want %d (every event, the unknown one too)", n, len(events)+1)
	}
	if _, err := m.db.Exec(`DELETE FROM audit_index WHERE position = ?`, other.Position); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(dumpTables(t, want.db), dumpTables(t, m.db)); diff != "" {
		t.Errorf("after failed batches (-clean +recovered):\n%s", diff)
	}
}

// TestReopen checks that a model reopened on its database resumes from its
// checkpoint and keeps applying.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	m := MustOpenReadModel(t, store)
	stop := MustRun(t, m)
	l := newLedger(t, store)
	acme := l.identify("Acme", "supplier", "external", "")
	MustWait(t, m, l.head)
	stop()

	l.requirement(acme, "requirement", "SLA")
	m2, err := Open(ctx, m.db, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	MustRun(t, m2)
	MustWait(t, m2, l.head)
	p, err := m2.Party(ctx, string(acme))
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != 2 || len(p.Requirements) != 1 {
		t.Errorf("party after reopen: version %d, %d requirements", p.Version, len(p.Requirements))
	}
}

// TestRebuildOverlappingRun checks the documented safety net: a Rebuild that
// overlaps Run and concurrent appends cannot corrupt the tables.
func TestRebuildOverlappingRun(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	m := MustOpenReadModel(t, store)
	MustRun(t, m)
	l := newLedger(t, store)
	scenario(l, func() {})

	done := make(chan struct{})
	go func() {
		defer close(done)
		l2 := newLedger(t, store)
		for i := range 20 {
			l2.identify("Concurrent "+string(rune('A'+i)), "partner", "external", "")
		}
	}()
	for range 3 {
		if err := m.Rebuild(ctx); err != nil {
			t.Fatal(err)
		}
	}
	<-done
	head, _, err := store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	MustWait(t, m, head)

	fresh := MustOpenReadModel(t, store)
	if err := fresh.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(dumpTables(t, fresh.db), dumpTables(t, m.db)); diff != "" {
		t.Errorf("(-clean rebuild +overlapped):\n%s", diff)
	}
}
