package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/eventstore/sqlite"
)

// The audit benchmarks run on a log of their own, whose events vary in
// what the audit trail filters on: 20 actors (a few busy, most rare), the 9
// triggers, one event per second with every 200th stamped 30 s early (a
// late event), 100k events over 1k parties (1M over 10k with
// PARTYLEDGER_BENCH_LARGE=1). PARTYLEDGER_BENCH_DIR keeps the log and its
// read model between runs.
//
//	go test -run '^$' -bench 'Audit|AsOf' -benchtime 20x ./projections/

const auditBenchLate = 200

// auditLogInfo describes the benchmark log.
type auditLogInfo struct {
	events   int64
	parties  []domain.PartyID
	reqs     []domain.RequirementID
	start    time.Time
	rareUser string
}

var benchActors = func() []string {
	a := make([]string, 20)
	for i := range a {
		a[i] = fmt.Sprintf("user%02d@example.com", i)
	}
	return a
}()

// mustAuditLog builds (or reopens) the benchmark log and its read model,
// caught up.
func mustAuditLog(b *testing.B) (*sqlite.Store, string, *ReadModel, auditLogInfo) {
	b.Helper()
	ctx := context.Background()
	n, parties := 100_000, 1_000
	if os.Getenv("PARTYLEDGER_BENCH_LARGE") == "1" {
		n, parties = 1_000_000, 10_000
	}
	dir := os.Getenv("PARTYLEDGER_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	name := fmt.Sprintf("audit-%d.db", n)
	// PARTYLEDGER_BENCH_PARTIES sets the number of parties alone (a log of
	// its own): 10k parties on the 100k log make the costs that grow with
	// the register visible without the 1M log.
	if k, err := strconv.Atoi(os.Getenv("PARTYLEDGER_BENCH_PARTIES")); err == nil && k > 0 && k != parties {
		parties = k
		name = fmt.Sprintf("audit-%d-p%d.db", n, k)
	}
	path := filepath.Join(dir, name)
	info := auditLogInfo{events: int64(n), start: t0, rareUser: benchActors[len(benchActors)-1]}
	// The ids are derived from the seed, so a kept log has the same ones.
	rng := rand.New(rand.NewPCG(2026, 3))
	for i := 0; i < parties; i++ {
		info.parties = append(info.parties, domain.PartyID(uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "party %d", i)).String()))
	}
	store, err := sqlite.Open(ctx, path, sqlite.Options{Synchronous: sqlite.SynchronousNormal})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	head, _, err := store.Head(ctx)
	if err != nil {
		b.Fatal(err)
	}
	info.reqs = fillAuditLog(b, store, rng, info, head == 0)
	if head, _, _ = store.Head(ctx); head != int64(n) {
		b.Fatalf("%s holds %d events, want %d: remove it", path, head, n)
	}
	rdb, err := sqlite.OpenDB(path+".readmodel", sqlite.WithSynchronous(sqlite.SynchronousNormal))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rdb.Close() })
	m, err := Open(ctx, rdb, store, nil)
	if err != nil {
		b.Fatal(err)
	}
	if cp, err := m.Checkpoint(ctx); err != nil || cp != int64(n) {
		start := time.Now()
		if err := m.Rebuild(ctx); err != nil {
			b.Fatal(err)
		}
		b.Logf("read model of %d events built in %s", n, time.Since(start).Round(time.Millisecond))
	}
	return store, path, m, info
}

// fillAuditLog appends the benchmark log when write is true, and returns
// the requirement ids either way (they follow from the seed).
func fillAuditLog(b *testing.B, store eventstore.Store, rng *rand.Rand, info auditLogInfo, write bool) []domain.RequirementID {
	ctx := context.Background()
	start := time.Now()
	type pstate struct {
		version int64
		count   int
		reqs    []domain.RequirementID
	}
	ps := make([]pstate, len(info.parties))
	var reqs []domain.RequirementID
	triggers := []string{"risk_assessment", "incident", "regulatory_change", "contract_change",
		"customer_feedback", "audit_finding", "management_review", "periodic_review", "other"}
	actor := func() string {
		// Weight 1/(k+1): a few busy actors, many rare ones.
		for {
			k := rng.IntN(len(benchActors))
			if rng.Float64() < 1/float64(k+1) {
				return benchActors[k]
			}
		}
	}
	pos := int64(0)
	at := func() time.Time {
		pos++
		t := info.start.Add(time.Duration(pos) * time.Second)
		if pos%auditBenchLate == 0 {
			t = t.Add(-30 * time.Second)
		}
		return t
	}
	next := func(i int) domain.Event {
		p := &ps[i]
		id := info.parties[i]
		defer func() { p.count++ }()
		switch j := p.count; {
		case j == 0:
			return domain.PartyIdentified{PartyID: id, Name: fmt.Sprintf("Party %d", i), Category: "supplier",
				Scope: []string{"internal", "external"}[i%2], Owner: "CISO", Influence: 3, Interest: 3}
		case j <= 5:
			r := domain.RequirementID(uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "req %d %d", i, j)).String())
			p.reqs = append(p.reqs, r)
			reqs = append(reqs, r)
			return domain.RequirementIdentified{PartyID: id, RequirementID: r, Kind: "requirement",
				Title: fmt.Sprintf("Requirement %d", j), SourceType: "contract", Priority: "medium", Controls: []string{}}
		default:
			r := p.reqs[j%len(p.reqs)]
			switch j % 3 {
			case 0:
				return domain.PartyRevised{PartyID: id, Changes: domain.Changes{
					"owner": {From: fmt.Sprint("owner ", j-3), To: fmt.Sprint("owner ", j)}}}
			case 1:
				return domain.RequirementRevised{PartyID: id, RequirementID: r, Changes: domain.Changes{
					"title": {From: "t", To: fmt.Sprint("Requirement ", j)}}}
			default:
				return domain.RequirementAddressingDecided{PartyID: id, RequirementID: r,
					Addressed: ptr(j%2 == 0), Rationale: "r", Controls: []string{"A.5.19"},
					Changes: domain.Changes{"addressed": {From: nil, To: j%2 == 0}}}
			}
		}
	}
	for written := int64(0); written < info.events; {
		for i := range ps {
			var chunk []eventstore.Event
			for k := 0; k < 10 && written < info.events; k++ {
				de := next(i)
				data, err := json.Marshal(de)
				if err != nil {
					b.Fatal(err)
				}
				chunk = append(chunk, eventstore.Event{ID: uuid.NewString(), Type: de.EventType(),
					Schema: domain.CurrentSchema, Time: at(), Actor: actor(), Reason: "benchmark",
					Trigger: triggers[rng.IntN(len(triggers))], Data: data})
				written++
			}
			if len(chunk) == 0 {
				break
			}
			if write {
				if _, err := store.Append(ctx, info.parties[i].Stream(), ps[i].version, chunk); err != nil {
					b.Fatal(err)
				}
			}
			ps[i].version += int64(len(chunk))
		}
	}
	if write {
		b.Logf("log of %d events written in %s", info.events, time.Since(start).Round(time.Millisecond))
	}
	return reqs
}

// BenchmarkAuditEventsAtScale measures GET /api/v1/events as the handler
// does it: the index finds a page of 100 positions, the store reads their
// envelopes in one query. Each filter reports p50-ms and p99-ms, the
// events on the page, and x-raw: the median over the median of the raw
// baseline measured interleaved, the cheapest page there is (100 envelopes
// in position order from a random offset, no filter, plain database/sql).
func BenchmarkAuditEventsAtScale(b *testing.B) {
	ctx := context.Background()
	store, path, m, info := mustAuditLog(b)
	raw := mustRawLog(b, path)
	rng := rand.New(rand.NewPCG(7, 7))
	mid := info.start.Add(time.Duration(info.events/2) * time.Second)
	party := func() string { return string(info.parties[rng.IntN(len(info.parties))]) }
	cases := []struct {
		name string
		f    func() EventFilter
	}{
		{"party", func() EventFilter { return EventFilter{Party: party()} }},
		{"requirement", func() EventFilter {
			return EventFilter{Requirement: string(info.reqs[rng.IntN(len(info.reqs))])}
		}},
		{"stream", func() EventFilter { return EventFilter{Stream: domain.PartyID(party()).Stream()} }},
		{"type", func() EventFilter { return EventFilter{Type: domain.EventRequirementAddressingDecided} }},
		{"type-deep-page", func() EventFilter {
			return EventFilter{Type: domain.EventPartyRevised, After: info.events - info.events/20}
		}},
		{"actor-rare", func() EventFilter { return EventFilter{Actor: info.rareUser} }},
		{"trigger", func() EventFilter { return EventFilter{Trigger: "incident"} }},
		{"time-window-1h", func() EventFilter { return EventFilter{From: mid, To: mid.Add(time.Hour)} }},
		{"time-from", func() EventFilter { return EventFilter{From: mid} }},
		{"time-to", func() EventFilter { return EventFilter{To: mid, After: info.events/2 - 200} }},
		{"party+type", func() EventFilter { return EventFilter{Party: party(), Type: domain.EventRequirementRevised} }},
		{"actor+trigger+from", func() EventFilter {
			return EventFilter{Actor: info.rareUser, Trigger: "audit_finding", From: mid}
		}},
		{"no-match", func() EventFilter { return EventFilter{Type: "no.such.type"} }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var lat, rawLat []time.Duration
			events := 0
			for b.Loop() {
				b.StopTimer()
				f := c.f()
				f.Limit = DefaultEventLimit
				t0 := time.Now()
				raw.query(b, `SELECT position, id, stream, version, type, schema, time, actor, reason,
					"trigger", correlation_id, causation_id, data, prev_hash, hash FROM events
					WHERE position > ? ORDER BY position LIMIT 100`, rng.Int64N(info.events-100))
				rawLat = append(rawLat, time.Since(t0))
				b.StartTimer()
				t0 = time.Now()
				ps, _, err := m.EventPositions(ctx, f)
				if err != nil {
					b.Fatal(err)
				}
				evs, err := store.ReadPositions(ctx, ps)
				lat = append(lat, time.Since(t0))
				if err != nil || len(evs) != len(ps) {
					b.Fatalf("read %d of %d positions: %v", len(evs), len(ps), err)
				}
				events = len(evs)
			}
			reportLatencies(b, lat, "")
			b.ReportMetric(float64(events), "events")
			b.ReportMetric(float64(latencyPercentile(lat, 50))/float64(latencyPercentile(rawLat, 50)), "x-raw")
		})
	}
}

// BenchmarkAsOfAtScale measures the register as of a past moment, folded
// from the log: at the head, half-way (by position and by time), at random
// moments through the server's snapshot cache, and one party's stream.
// x-raw-read is the median over the median of the raw baseline measured
// interleaved: reading every event up to that moment with plain
// database/sql into sql.RawBytes, without decoding or folding.
func BenchmarkAsOfAtScale(b *testing.B) {
	ctx := context.Background()
	_, path, m, info := mustAuditLog(b)
	raw := mustRawLog(b, path)
	rng := rand.New(rand.NewPCG(8, 8))
	half := info.events / 2
	mid := info.start.Add(time.Duration(half) * time.Second)
	readUpTo := func(pos int64) int {
		return raw.query(b, `SELECT position, id, stream, version, type, schema, time, actor, reason,
			"trigger", correlation_id, causation_id, data, prev_hash, hash FROM events
			WHERE position <= ? ORDER BY position`, pos)
	}
	// The server's cache, warmed by one fold of the whole log (which keeps
	// a snapshot every 10k events).
	cache := NewSnapshotCache(m)
	if _, err := cache.RegisterAsOf(ctx, AsOf{Position: info.events}, PartyFilter{}); err != nil {
		b.Fatal(err)
	}
	var randPos int64
	cases := []struct {
		name  string
		asOf  func() (int, error)
		raw   func() int
		folds int64
	}{
		{"register-head", func() (int, error) {
			ps, err := m.RegisterAsOf(ctx, AsOf{Position: info.events}, PartyFilter{})
			return len(ps), err
		}, func() int { return readUpTo(info.events) }, info.events},
		{"register-half-position", func() (int, error) {
			ps, err := m.RegisterAsOf(ctx, AsOf{Position: half}, PartyFilter{})
			return len(ps), err
		}, func() int { return readUpTo(half) }, half},
		{"register-half-time", func() (int, error) {
			ps, err := m.RegisterAsOf(ctx, AsOf{Time: mid}, PartyFilter{})
			return len(ps), err
		}, func() int { return readUpTo(half) }, half},
		{"register-random-position-cached", func() (int, error) {
			ps, err := cache.RegisterAsOf(ctx, AsOf{Position: randPos}, PartyFilter{})
			return len(ps), err
		}, func() int { return readUpTo(randPos) }, 0},
		{"register-random-time-cached", func() (int, error) {
			ps, err := cache.RegisterAsOf(ctx, AsOf{Time: info.start.Add(time.Duration(randPos) * time.Second)}, PartyFilter{})
			return len(ps), err
		}, func() int { return readUpTo(randPos) }, 0},
		{"party-half-time", func() (int, error) {
			_, err := m.PartyAsOf(ctx, AsOf{Time: mid}, string(info.parties[rng.IntN(len(info.parties))]))
			return 1, err
		}, func() int {
			return raw.query(b, `SELECT position, id, stream, version, type, schema, time, actor, reason,
				"trigger", correlation_id, causation_id, data, prev_hash, hash FROM events
				WHERE stream = ? ORDER BY version`, info.parties[rng.IntN(len(info.parties))].Stream())
		}, 0},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var lat, rawLat []time.Duration
			items := 0
			for b.Loop() {
				b.StopTimer()
				randPos = 1 + rng.Int64N(info.events)
				t0 := time.Now()
				c.raw()
				rawLat = append(rawLat, time.Since(t0))
				b.StartTimer()
				t0 = time.Now()
				n, err := c.asOf()
				lat = append(lat, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
				items = n
			}
			reportLatencies(b, lat, "")
			b.ReportMetric(float64(items), "parties")
			if c.folds > 0 {
				b.ReportMetric(float64(c.folds)/latencyPercentile(lat, 50).Seconds(), "events/s")
			}
			b.ReportMetric(float64(latencyPercentile(lat, 50))/float64(latencyPercentile(rawLat, 50)), "x-raw-read")
		})
	}
}
