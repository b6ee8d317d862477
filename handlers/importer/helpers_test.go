package importer

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partyledger/partyledger/domain"
)

// testNow is the decision time of every test plan.
var testNow = time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)

// memRegister is the register as the real domain folds it: a plan's appends
// are applied with Party.Apply after their expected versions are checked,
// as the event store would check them.
type memRegister struct {
	parties map[domain.PartyID]*domain.Party
	order   []domain.PartyID
	byName  map[string]domain.PartyID
}

func newRegister() *memRegister {
	return &memRegister{parties: map[domain.PartyID]*domain.Party{}, byName: map[string]domain.PartyID{}}
}

func (m *memRegister) PartyByName(ctx context.Context, key string) (*domain.Party, error) {
	if id, ok := m.byName[key]; ok {
		return m.parties[id], nil
	}
	return nil, nil
}

func (m *memRegister) ActiveParties(ctx context.Context) ([]*domain.Party, error) {
	var out []*domain.Party
	for _, id := range m.order {
		if p := m.parties[id]; p.Status == domain.StatusActive {
			out = append(out, p)
		}
	}
	return out, nil
}

// apply writes the plan's appends, all or nothing, checking each stream's
// expected version first.
func (m *memRegister) apply(tb testing.TB, plan *Plan) {
	tb.Helper()
	if len(plan.Errors) > 0 {
		tb.Fatalf("applying a plan with errors: %+v", plan.Errors)
	}
	for _, a := range plan.Appends {
		var v int64
		if p := m.parties[a.PartyID]; p != nil {
			v = p.Version
		}
		if v != a.ExpectedVersion {
			tb.Fatalf("append to %s expects version %d, stream is at %d", a.Stream, a.ExpectedVersion, v)
		}
	}
	for _, a := range plan.Appends {
		p := m.parties[a.PartyID]
		if p == nil {
			p = &domain.Party{}
			m.parties[a.PartyID] = p
			m.order = append(m.order, a.PartyID)
		}
		for _, e := range a.Events {
			p.Apply(e)
		}
	}
	m.byName = map[string]domain.PartyID{}
	for _, id := range m.order {
		if p := m.parties[id]; p.Status == domain.StatusActive {
			m.byName[domain.NormalizeName(p.Name)] = id
		}
	}
}

func (m *memRegister) list() []*domain.Party {
	out := make([]*domain.Party, 0, len(m.order))
	for _, id := range m.order {
		out = append(out, m.parties[id])
	}
	return out
}

// MustRead reads a file under testdata.
func MustRead(tb testing.TB, name string, in Input) *Table {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return MustReadBytes(tb, data, in)
}

// MustReadBytes reads a file's content.
func MustReadBytes(tb testing.TB, data []byte, in Input) *Table {
	tb.Helper()
	t, err := Read(bytes.NewReader(data), in)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// lastID numbers the ids of test plans, so that they are readable and never
// repeat within the test binary.
var lastID atomic.Int64

// testOptions are the options of every test plan.
func testOptions() Options {
	return Options{Actor: "token:importer-test", Now: testNow, NewID: func() string {
		return fmt.Sprintf("00000000-0000-7000-8000-%012d", lastID.Add(1))
	}}
}

// MustPlan plans t against reg.
func MustPlan(tb testing.TB, reg Register, t *Table, opts Options) *Plan {
	tb.Helper()
	p, err := (&Planner{Register: reg}).Plan(context.Background(), t, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}
