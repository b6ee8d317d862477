package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/google/uuid"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/eventstore/sqlite"
	"github.com/partyledger/partyledger/eventstore/verify"
)

// storeRegister implements [Register] from the event store alone, as the
// wiring may: it folds every party stream. (The wiring will look the name
// up in the read model and fold one stream; the answers are the same.)
type storeRegister struct{ s eventstore.Store }

func (r storeRegister) parties(ctx context.Context) ([]*domain.Party, error) {
	byID := map[domain.PartyID]*domain.Party{}
	var order []*domain.Party
	for after := int64(0); ; {
		evs, err := r.s.ReadAll(ctx, after, 1000)
		if err != nil {
			return nil, err
		}
		if len(evs) == 0 {
			break
		}
		for _, e := range evs {
			after = e.Position
			de, err := domain.Decode(e.Type, e.Schema, e.Data)
			if err != nil {
				return nil, err
			}
			id := domain.PartyID(e.Stream[len(domain.PartyStreamPrefix):])
			p := byID[id]
			if p == nil {
				p = &domain.Party{}
				byID[id] = p
				order = append(order, p)
			}
			p.Apply(de)
		}
	}
	return order, nil
}

func (r storeRegister) PartyByName(ctx context.Context, key string) (*domain.Party, error) {
	all, err := r.ActiveParties(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range all {
		if domain.NormalizeName(p.Name) == key {
			return p, nil
		}
	}
	return nil, nil
}

func (r storeRegister) ActiveParties(ctx context.Context) ([]*domain.Party, error) {
	all, err := r.parties(ctx)
	var out []*domain.Party
	for _, p := range all {
		if p.Status == domain.StatusActive {
			out = append(out, p)
		}
	}
	return out, err
}

// envelopes wraps a plan's events per stream as the command service does,
// with each event's audit fields taken from the step that decided it.
func envelopes(tb testing.TB, p *Plan) map[string][]eventstore.Event {
	tb.Helper()
	meta := func(cmd any) domain.Meta {
		switch c := cmd.(type) {
		case domain.IdentifyParty:
			return c.Meta
		case domain.ReviseParty:
			return c.Meta
		case domain.RetireParty:
			return c.Meta
		case domain.IdentifyRequirement:
			return c.Meta
		case domain.ReviseRequirement:
			return c.Meta
		case domain.DecideAddressing:
			return c.Meta
		case domain.RetireRequirement:
			return c.Meta
		}
		tb.Fatalf("unexpected command %T", cmd)
		return domain.Meta{}
	}
	out := map[string][]eventstore.Event{}
	for _, s := range p.Steps {
		m := meta(s.Command)
		for _, e := range s.Events {
			data, err := json.Marshal(e)
			if err != nil {
				tb.Fatal(err)
			}
			out[s.PartyID.Stream()] = append(out[s.PartyID.Stream()], eventstore.Event{
				ID: uuid.Must(uuid.NewV7()).String(), Type: e.EventType(), Schema: domain.CurrentSchema,
				Time: testNow, Actor: m.Actor, Reason: m.Reason, Trigger: m.TriggerOrDefault(), Data: data})
		}
	}
	return out
}

// mustAppendPlan appends the plan to the store, stream by stream with the
// plan's expected versions. (The wiring must make this one atomic append.)
func mustAppendPlan(tb testing.TB, s eventstore.Store, p *Plan) {
	tb.Helper()
	envs := envelopes(tb, p)
	for _, a := range p.Appends {
		if len(envs[a.Stream]) != len(a.Events) {
			tb.Fatalf("%s: steps have %d events, append %d", a.Stream, len(envs[a.Stream]), len(a.Events))
		}
		if _, err := s.Append(tb.Context(), a.Stream, a.ExpectedVersion, envs[a.Stream]); err != nil {
			tb.Fatal(err)
		}
	}
}

// TestImportThroughSQLiteStore runs the import the way the wiring will: the
// register comes from a real SQLite store, the plan's events are appended
// to it, the log verifies, and importing again, or importing the register's
// own export, plans nothing.
func TestImportThroughSQLiteStore(t *testing.T) {
	ctx := t.Context()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ledger.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	reg := storeRegister{s}
	opts := testOptions()
	opts.Actor = "token:alice"
	for _, name := range []string{"consultant.xlsx", "register-semicolon.csv"} {
		p := MustPlan(t, reg, MustRead(t, name, Input{Filename: name}), opts)
		if len(p.Errors) != 0 || p.Events() == 0 {
			t.Fatalf("%s: %d events, errors %+v", name, p.Events(), p.Errors)
		}
		mustAppendPlan(t, s, p)
	}
	res, err := verify.Verify(ctx, verify.FromStore(ctx, s, 0, 0), verify.Options{})
	if err != nil || !res.OK || res.Events != 19 {
		t.Fatalf("verify: %+v, %v; want OK over 19 events", res, err)
	}
	evs, err := s.ReadAll(ctx, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if e := evs[0]; e.Actor != "token:alice" || e.Reason != "import of consultant.xlsx" || e.Trigger != "other" {
		t.Errorf("first event actor %q reason %q trigger %q", e.Actor, e.Reason, e.Trigger)
	}

	again := MustPlan(t, reg, MustRead(t, "consultant.xlsx", Input{}), opts)
	if again.Events() != 0 {
		t.Errorf("re-import plans %d events: %+v", again.Events(), again.Items)
	}
	all, err := reg.ActiveParties(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteXLSX(&buf, all, testNow); err != nil {
		t.Fatal(err)
	}
	back := MustPlan(t, reg, MustReadBytes(t, buf.Bytes(), Input{}), opts)
	if back.Events() != 0 || len(back.Errors) != 0 {
		t.Errorf("export -> import plans %d events, errors %+v", back.Events(), back.Errors)
	}

	// One changed cell: one event, appended at the version the plan expects.
	one := MustPlan(t, reg, MustReadBytes(t, editedConsultant(t, "M8", "High"), Input{Filename: "v2.xlsx"}), opts)
	if one.Events() != 1 {
		t.Fatalf("one changed cell plans %d events", one.Events())
	}
	mustAppendPlan(t, s, one)
	if p := MustPlan(t, reg, MustReadBytes(t, editedConsultant(t, "M8", "High"), Input{}), opts); p.Events() != 0 {
		t.Errorf("after the revision, re-import plans %d events", p.Events())
	}
}
