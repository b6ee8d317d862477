// Package storetest is the contract test suite that every
// [eventstore.Store] implementation must pass. An implementation's tests
// call [RunStoreTests] with a function that returns a new, empty store:
//
//	func TestStore(t *testing.T) {
//		storetest.RunStoreTests(t, func(t *testing.T) eventstore.Store {
//			s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "events.db"), sqlite.Options{})
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// The suite closes every store it gets (possibly twice: Close after Close
// may return nil or [eventstore.ErrClosed]); newStore only has to release
// anything else it created, for example with t.Cleanup.
//
// # What it checks
//
// Round trips keep every envelope field exactly (Data byte for byte in its
// canonical form, [eventstore.CanonicalData]; Time
// in UTC to the nanosecond); the store assigns Stream, Version, Position,
// PrevHash and Hash; Hash equals [eventstore.Event.ComputeHash]; PrevHash
// links events in position order; positions are strictly increasing and,
// unless [AllowPositionGaps], gap-free from 1. Optimistic concurrency
// ([eventstore.NoStream], explicit versions, [eventstore.AnyVersion]),
// all-or-nothing appends, invalid input and duplicate ids writing nothing,
// paging, ordering under concurrent appends, read-then-append contention,
// and catch-up subscriptions that follow live appends exactly once.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/partyledger/partyledger/eventstore"
)

// Option adjusts the suite to a backend's documented guarantees.
type Option func(*config)

type config struct {
	allowGaps bool
	chain     func(all []eventstore.Event) error
}

// AllowPositionGaps relaxes "positions are gap-free from 1" to "positions
// are strictly increasing", for backends whose global sequence may skip.
func AllowPositionGaps() Option { return func(c *config) { c.allowGaps = true } }

// ChainCheck replaces the suite's hash-chain check (Hash equals
// [eventstore.Event.ComputeHash], PrevHash is the Hash of the event before
// in position order) with check, for backends that hash or link events by
// another documented rule, such as a chain per stream. check gets the whole
// log in position order and returns what is wrong with it.
func ChainCheck(check func(all []eventstore.Event) error) Option {
	return func(c *config) { c.chain = check }
}

// RunStoreTests runs the contract suite as subtests of t. newStore must
// return a new, empty store each time it is called.
func RunStoreTests(t *testing.T, newStore func(t *testing.T) eventstore.Store, opts ...Option) {
	t.Helper()
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	s := suite{cfg: cfg, newStore: newStore}
	tests := []struct {
		name string
		fn   func(*testing.T)
	}{
		{"AppendReadRoundTrip", s.testAppendReadRoundTrip},
		{"Head", s.testHead},
		{"NoStreamOnExistingStream", s.testNoStreamOnExistingStream},
		{"WrongExpectedVersion", s.testWrongExpectedVersion},
		{"AnyVersion", s.testAnyVersion},
		{"AtomicMultiEventAppend", s.testAtomicMultiEventAppend},
		{"InvalidAppendWritesNothing", s.testInvalidAppendWritesNothing},
		{"DuplicateIDWritesNothing", s.testDuplicateIDWritesNothing},
		{"CancelledContextWritesNothing", s.testCancelledContext},
		{"ReadStreamFromVersion", s.testReadStreamFromVersion},
		{"ReadAllPaging", s.testReadAllPaging},
		{"ConcurrentAppendOrdering", s.testConcurrentAppendOrdering},
		{"ReadThenAppendContention", s.testReadThenAppendContention},
		{"ConcurrentNewStreams", s.testConcurrentNewStreams},
		{"SubscribeFromStartFollowsLive", s.testSubscribeFromStartFollowsLive},
		{"SubscribeFromMiddle", s.testSubscribeFromMiddle},
		{"SubscribeStopsOnCancel", s.testSubscribeStopsOnCancel},
		{"SubscribeReturnsFnError", s.testSubscribeReturnsFnError},
		{"AppendAfterClose", s.testAppendAfterClose},
		{"AppendStreamsAtomic", s.testAppendStreamsAtomic},
		{"AppendStreamsConflictWritesNothing", s.testAppendStreamsConflictWritesNothing},
		{"AppendStreamsInvalid", s.testAppendStreamsInvalid},
		{"AppendStreamsRaceOnSharedStream", s.testAppendStreamsRace},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.fn)
	}
}

type suite struct {
	cfg      config
	newStore func(t *testing.T) eventstore.Store
}

// open returns a fresh store that is closed when t ends.
func (s suite) open(t *testing.T) eventstore.Store {
	t.Helper()
	st := s.newStore(t)
	if st == nil {
		t.Fatal("newStore returned nil")
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil && !errors.Is(err, eventstore.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return st
}

var (
	eventSeq atomic.Int64
	// baseTime is deliberately not UTC and has nanoseconds: stores must
	// return UTC to the nanosecond.
	baseTime = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.FixedZone("CET", 3600))
)

// newEvent returns an event as a caller would hand it to Append, with every
// caller-filled field set to a distinct value. Data has odd spacing and
// non-ASCII text, so a store that skips or changes canonicalisation shows.
func newEvent(typ string) eventstore.Event {
	n := eventSeq.Add(1)
	return eventstore.Event{
		ID:            uuid.Must(uuid.NewV7()).String(),
		Type:          typ,
		Schema:        1 + int(n%3),
		Time:          baseTime.Add(time.Duration(n)*time.Millisecond + time.Duration(n%7)),
		Actor:         fmt.Sprintf("user-%d@example.org", n%5),
		Reason:        fmt.Sprintf("reason %d: café, 9.3.2 c)", n),
		Trigger:       "periodic_review",
		CorrelationID: fmt.Sprintf("corr-%d", n),
		CausationID:   fmt.Sprintf("cause-%d", n),
		Data:          json.RawMessage(fmt.Sprintf("{ \"n\" : %d,\n \"name\":\"Zoë \\u00e9\" }", n)),
		// Every other event says when it took effect (hash encoding v2);
		// the rest read as their recording date (v1), as old events do.
		EffectiveOn: effectiveOn(n),
	}
}

// effectiveOn gives every other test event a date in January 2025, before
// every recording time of the suite.
func effectiveOn(n int64) string {
	if n%2 != 0 {
		return ""
	}
	return fmt.Sprintf("2025-01-%02d", 1+n%28)
}

func newEvents(typ string, n int) []eventstore.Event {
	evs := make([]eventstore.Event, n)
	for i := range evs {
		evs[i] = newEvent(typ)
	}
	return evs
}

func mustAppend(t testing.TB, st eventstore.Store, stream string, expected int64, evs ...eventstore.Event) []eventstore.Event {
	t.Helper()
	got, err := st.Append(t.Context(), stream, expected, evs)
	if err != nil {
		t.Fatalf("Append(%s, %d, %d events): %v", stream, expected, len(evs), err)
	}
	if len(got) != len(evs) {
		t.Fatalf("Append(%s) returned %d events, want %d", stream, len(got), len(evs))
	}
	return got
}

func mustReadStream(t testing.TB, st eventstore.Store, stream string, from int64) []eventstore.Event {
	t.Helper()
	evs, err := st.ReadStream(t.Context(), stream, from)
	if err != nil {
		t.Fatalf("ReadStream(%s, %d): %v", stream, from, err)
	}
	return evs
}

// mustReadAll reads every event after position after, in pages.
func mustReadAll(t testing.TB, st eventstore.Store, after int64) []eventstore.Event {
	t.Helper()
	var all []eventstore.Event
	for {
		page, err := st.ReadAll(t.Context(), after, 500)
		if err != nil {
			t.Fatalf("ReadAll(%d, 500): %v", after, err)
		}
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
		after = page[len(page)-1].Position
	}
}

func mustHead(t testing.TB, st eventstore.Store) (int64, string) {
	t.Helper()
	pos, hash, err := st.Head(t.Context())
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	return pos, hash
}

// checkLog verifies a whole log as read from position 0: positions, hashes
// and the chain.
func (s suite) checkLog(t testing.TB, all []eventstore.Event) {
	t.Helper()
	prevHash := ""
	var prevPos int64
	for i, ev := range all {
		if s.cfg.allowGaps {
			if ev.Position <= prevPos {
				t.Errorf("event %d: position %d after %d, want strictly increasing", i, ev.Position, prevPos)
			}
		} else if want := int64(i + 1); ev.Position != want {
			t.Errorf("event %d: position %d, want %d (gap-free from 1)", i, ev.Position, want)
		}
		if s.cfg.chain != nil {
			prevPos = ev.Position
			continue
		}
		if got, want := ev.Hash, ev.ComputeHash(); got != want {
			t.Errorf("event %d (position %d): hash %s, want ComputeHash %s", i, ev.Position, got, want)
		}
		if ev.PrevHash != prevHash {
			t.Errorf("event %d (position %d): prev_hash %q, want hash of previous event %q", i, ev.Position, ev.PrevHash, prevHash)
		}
		prevHash, prevPos = ev.Hash, ev.Position
	}
	if s.cfg.chain != nil {
		if err := s.cfg.chain(all); err != nil {
			t.Errorf("hash chain: %v", err)
		}
	}
}

// checkStreamVersions verifies that each stream's events have versions
// 1..n in position order.
func checkStreamVersions(t testing.TB, all []eventstore.Event) map[string]int64 {
	t.Helper()
	versions := make(map[string]int64)
	for _, ev := range all {
		want := versions[ev.Stream] + 1
		if ev.Version != want {
			t.Errorf("stream %s at position %d: version %d, want %d", ev.Stream, ev.Position, ev.Version, want)
		}
		versions[ev.Stream] = ev.Version
	}
	return versions
}

// wantStored is what a stored event must look like given the event handed
// to Append and the fields the store assigned.
func wantStored(in, got eventstore.Event) eventstore.Event {
	in.Stream, in.Version, in.Position, in.PrevHash, in.Hash = got.Stream, got.Version, got.Position, got.PrevHash, got.Hash
	in.Time = in.Time.UTC()
	in.Data = canonical(in.Data)
	return in
}

// canonical is the form in which a store keeps Data: see
// [eventstore.CanonicalData].
func canonical(data []byte) json.RawMessage {
	out, err := eventstore.CanonicalData(data)
	if err != nil {
		panic(err)
	}
	return out
}

func (s suite) testAppendReadRoundTrip(t *testing.T) {
	st := s.open(t)
	inA := newEvents("party.identified", 3)
	inB := newEvents("requirement.added", 2)

	gotA := mustAppend(t, st, "party-a", eventstore.NoStream, inA...)
	gotB := mustAppend(t, st, "party-b", eventstore.NoStream, inB...)

	for _, c := range []struct {
		stream   string
		in, got  []eventstore.Event
		firstPos int64
	}{{"party-a", inA, gotA, 1}, {"party-b", inB, gotB, 4}} {
		for i := range c.in {
			got := c.got[i]
			if got.Stream != c.stream {
				t.Errorf("%s[%d]: stream %q, want %q", c.stream, i, got.Stream, c.stream)
			}
			if want := int64(i + 1); got.Version != want {
				t.Errorf("%s[%d]: version %d, want %d", c.stream, i, got.Version, want)
			}
			if !s.cfg.allowGaps {
				if want := c.firstPos + int64(i); got.Position != want {
					t.Errorf("%s[%d]: position %d, want %d", c.stream, i, got.Position, want)
				}
			}
			if got.Time.Location() != time.UTC {
				t.Errorf("%s[%d]: time location %v, want UTC", c.stream, i, got.Time.Location())
			}
			if diff := cmp.Diff(wantStored(c.in[i], got), got); diff != "" {
				t.Errorf("%s[%d]: returned event differs from input (-want +got):\n%s", c.stream, i, diff)
			}
		}
		read := mustReadStream(t, st, c.stream, 1)
		if diff := cmp.Diff(c.got, read); diff != "" {
			t.Errorf("ReadStream(%s) differs from Append's result (-append +read):\n%s", c.stream, diff)
		}
		for i, ev := range read {
			if want := canonical(c.in[i].Data); string(ev.Data) != string(want) {
				t.Errorf("%s[%d]: data %q, want exactly %q", c.stream, i, ev.Data, want)
			}
			if ev.Time.Location() != time.UTC {
				t.Errorf("%s[%d]: read time location %v, want UTC", c.stream, i, ev.Time.Location())
			}
		}
	}

	all := mustReadAll(t, st, 0)
	if diff := cmp.Diff(append(append([]eventstore.Event(nil), gotA...), gotB...), all); diff != "" {
		t.Errorf("ReadAll differs from appended events (-append +read):\n%s", diff)
	}
	s.checkLog(t, all)
}

func (s suite) testHead(t *testing.T) {
	st := s.open(t)
	pos, hash := mustHead(t, st)
	if pos != 0 || hash != "" {
		t.Errorf("Head of empty store = %d, %q; want 0, \"\"", pos, hash)
	}
	mustAppend(t, st, "party-a", eventstore.NoStream, newEvents("party.identified", 2)...)
	got := mustAppend(t, st, "party-b", eventstore.NoStream, newEvent("party.identified"))
	last := got[len(got)-1]
	pos, hash = mustHead(t, st)
	if pos != last.Position || hash != last.Hash {
		t.Errorf("Head = %d, %s; want last appended %d, %s", pos, hash, last.Position, last.Hash)
	}
	if !s.cfg.allowGaps && pos != 3 {
		t.Errorf("Head position = %d, want 3", pos)
	}
}

// checkConflict asserts err is a conflict for stream with the given versions.
func checkConflict(t testing.TB, err error, stream string, expected, actual int64) {
	t.Helper()
	if !errors.Is(err, eventstore.ErrConflict) {
		t.Fatalf("err = %v, want one matching ErrConflict", err)
	}
	var ce *eventstore.ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v (%T), want a *ConflictError in the chain", err, err)
	}
	want := eventstore.ConflictError{Stream: stream, Expected: expected, Actual: actual}
	if diff := cmp.Diff(want, *ce); diff != "" {
		t.Errorf("ConflictError (-want +got):\n%s", diff)
	}
}

// checkUnchanged asserts the store still holds exactly before.
func checkUnchanged(t testing.TB, st eventstore.Store, before []eventstore.Event) {
	t.Helper()
	after := mustReadAll(t, st, 0)
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("store changed by a failed append (-before +after):\n%s", diff)
	}
	pos, hash := mustHead(t, st)
	var wantPos int64
	var wantHash string
	if len(before) > 0 {
		wantPos, wantHash = before[len(before)-1].Position, before[len(before)-1].Hash
	}
	if pos != wantPos || hash != wantHash {
		t.Errorf("Head = %d, %q; want unchanged %d, %q", pos, hash, wantPos, wantHash)
	}
}

func (s suite) testNoStreamOnExistingStream(t *testing.T) {
	st := s.open(t)
	mustAppend(t, st, "party-a", eventstore.NoStream, newEvent("party.identified"))
	before := mustReadAll(t, st, 0)

	_, err := st.Append(t.Context(), "party-a", eventstore.NoStream, []eventstore.Event{newEvent("party.identified")})
	checkConflict(t, err, "party-a", eventstore.NoStream, 1)
	checkUnchanged(t, st, before)
}

func (s suite) testWrongExpectedVersion(t *testing.T) {
	st := s.open(t)
	mustAppend(t, st, "party-a", eventstore.NoStream, newEvent("party.identified"))
	mustAppend(t, st, "party-a", 1, newEvent("party.revised"))
	before := mustReadAll(t, st, 0)

	for _, expected := range []int64{1, 3, 99} {
		_, err := st.Append(t.Context(), "party-a", expected, newEvents("party.revised", 2))
		checkConflict(t, err, "party-a", expected, 2)
	}
	// A stream that does not exist is at version 0.
	_, err := st.Append(t.Context(), "party-new", 1, []eventstore.Event{newEvent("party.identified")})
	checkConflict(t, err, "party-new", 1, 0)
	checkUnchanged(t, st, before)

	got := mustAppend(t, st, "party-a", 2, newEvent("party.revised"))
	if got[0].Version != 3 {
		t.Errorf("version after right expected version = %d, want 3", got[0].Version)
	}
}

func (s suite) testAnyVersion(t *testing.T) {
	st := s.open(t)
	got := mustAppend(t, st, "party-a", eventstore.AnyVersion, newEvent("party.identified"))
	if got[0].Version != 1 {
		t.Errorf("AnyVersion on new stream: version %d, want 1", got[0].Version)
	}
	got = mustAppend(t, st, "party-a", eventstore.AnyVersion, newEvents("party.revised", 2)...)
	if got[0].Version != 2 || got[1].Version != 3 {
		t.Errorf("AnyVersion on existing stream: versions %d, %d; want 2, 3", got[0].Version, got[1].Version)
	}
	s.checkLog(t, mustReadAll(t, st, 0))
}

func (s suite) testAtomicMultiEventAppend(t *testing.T) {
	st := s.open(t)
	mustAppend(t, st, "party-b", eventstore.NoStream, newEvent("party.identified"))
	mustAppend(t, st, "party-a", eventstore.NoStream, newEvents("party.identified", 2)...)
	got := mustAppend(t, st, "party-a", 2, newEvents("requirement.added", 5)...)
	for i := range got {
		if want := int64(3 + i); got[i].Version != want {
			t.Errorf("event %d: version %d, want %d", i, got[i].Version, want)
		}
		if i > 0 {
			if s.cfg.allowGaps {
				if got[i].Position <= got[i-1].Position {
					t.Errorf("event %d: position %d not after %d", i, got[i].Position, got[i-1].Position)
				}
			} else if got[i].Position != got[i-1].Position+1 {
				t.Errorf("event %d: position %d, want %d (contiguous)", i, got[i].Position, got[i-1].Position+1)
			}
			if got[i].PrevHash != got[i-1].Hash {
				t.Errorf("event %d: prev_hash does not link to event %d", i, i-1)
			}
		}
	}
	read := mustReadStream(t, st, "party-a", 3)
	if diff := cmp.Diff(got, read); diff != "" {
		t.Errorf("ReadStream differs from Append's result (-append +read):\n%s", diff)
	}
	s.checkLog(t, mustReadAll(t, st, 0))
}

func (s suite) testInvalidAppendWritesNothing(t *testing.T) {
	st := s.open(t)
	mustAppend(t, st, "party-a", eventstore.NoStream, newEvent("party.identified"))
	before := mustReadAll(t, st, 0)

	with := func(f func(*eventstore.Event)) eventstore.Event {
		ev := newEvent("party.revised")
		f(&ev)
		return ev
	}
	dup := newEvent("party.revised")
	tests := []struct {
		name     string
		stream   string
		expected int64
		events   []eventstore.Event
	}{
		{"no events", "party-a", 1, nil},
		{"empty events", "party-a", 1, []eventstore.Event{}},
		{"empty stream", "", eventstore.AnyVersion, newEvents("party.identified", 1)},
		{"missing id", "party-a", 1, []eventstore.Event{with(func(e *eventstore.Event) { e.ID = "" })}},
		{"missing type", "party-a", 1, []eventstore.Event{with(func(e *eventstore.Event) { e.Type = "" })}},
		{"schema 0", "party-a", 1, []eventstore.Event{with(func(e *eventstore.Event) { e.Schema = 0 })}},
		{"zero time", "party-a", 1, []eventstore.Event{with(func(e *eventstore.Event) { e.Time = time.Time{} })}},
		{"data not JSON", "party-a", 1, []eventstore.Event{with(func(e *eventstore.Event) { e.Data = json.RawMessage(`{"a":`) })}},
		{"empty data", "party-a", 1, []eventstore.Event{with(func(e *eventstore.Event) { e.Data = nil })}},
		{"invalid in the middle", "party-a", 1, []eventstore.Event{
			newEvent("party.revised"), with(func(e *eventstore.Event) { e.Type = "" }), newEvent("party.revised"),
		}},
		{"invalid in the middle of a new stream", "party-new", eventstore.NoStream, []eventstore.Event{
			newEvent("party.identified"), with(func(e *eventstore.Event) { e.Data = json.RawMessage("nope") }), newEvent("party.revised"),
		}},
		{"same id twice in one append", "party-a", 1, []eventstore.Event{dup, newEvent("party.revised"), dup}},
		// Strings that are not valid UTF-8 would be stored and hashed as
		// bytes but come out of every JSON export as U+FFFD: the event
		// could never verify from its own export.
		{"correlation id not UTF-8", "party-a", 1, []eventstore.Event{with(func(e *eventstore.Event) { e.CorrelationID = "bad\xff\xfeutf8" })}},
		{"causation id not UTF-8", "party-a", 1, []eventstore.Event{with(func(e *eventstore.Event) { e.CausationID = "\xc3" })}},
		{"reason not UTF-8", "party-a", 1, []eventstore.Event{with(func(e *eventstore.Event) { e.Reason = "ok \xed\xa0\x80" })}},
		{"actor not UTF-8", "party-a", 1, []eventstore.Event{with(func(e *eventstore.Event) { e.Actor = "\xff" })}},
		{"data string not UTF-8", "party-a", 1, []eventstore.Event{with(func(e *eventstore.Event) { e.Data = json.RawMessage("{\"a\":\"\xff\"}") })}},
		{"expected version below AnyVersion", "party-a", -2, newEvents("party.revised", 1)},
		{"effective_on not a date", "party-a", 1, []eventstore.Event{with(func(e *eventstore.Event) { e.EffectiveOn = "2025-02-30" })}},
		{"effective_on not YYYY-MM-DD", "party-a", 1, []eventstore.Event{with(func(e *eventstore.Event) { e.EffectiveOn = "14/03/2025" })}},
		{"effective_on after the recording date", "party-a", 1, []eventstore.Event{with(func(e *eventstore.Event) { e.EffectiveOn = "2025-03-15" })}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := st.Append(t.Context(), tt.stream, tt.expected, tt.events)
			if !errors.Is(err, eventstore.ErrInvalid) {
				t.Fatalf("Append: err = %v, want one matching ErrInvalid", err)
			}
			if len(got) != 0 {
				t.Errorf("Append returned %d events with an error, want none", len(got))
			}
			checkUnchanged(t, st, before)
		})
	}
	// The store still works and the chain is intact.
	mustAppend(t, st, "party-a", 1, newEvent("party.revised"))
	s.checkLog(t, mustReadAll(t, st, 0))
}

func (s suite) testDuplicateIDWritesNothing(t *testing.T) {
	st := s.open(t)
	stored := mustAppend(t, st, "party-a", eventstore.NoStream, newEvent("party.identified"))[0]
	before := mustReadAll(t, st, 0)

	again := newEvent("party.revised")
	again.ID = stored.ID
	for _, c := range []struct {
		stream   string
		expected int64
		events   []eventstore.Event
	}{
		{"party-a", 1, []eventstore.Event{again}},
		{"party-b", eventstore.NoStream, []eventstore.Event{newEvent("party.identified"), again}},
		{"party-b", eventstore.AnyVersion, []eventstore.Event{again, newEvent("party.identified")}},
	} {
		got, err := st.Append(t.Context(), c.stream, c.expected, c.events)
		if !errors.Is(err, eventstore.ErrDuplicateID) || !errors.Is(err, eventstore.ErrInvalid) {
			t.Errorf("Append(%s) with a stored id: err = %v, want one matching ErrDuplicateID and ErrInvalid", c.stream, err)
		}
		if len(got) != 0 {
			t.Errorf("Append returned %d events with an error, want none", len(got))
		}
		checkUnchanged(t, st, before)
	}
	mustAppend(t, st, "party-b", eventstore.NoStream, newEvent("party.identified"))
	s.checkLog(t, mustReadAll(t, st, 0))
}

func (s suite) testCancelledContext(t *testing.T) {
	st := s.open(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := st.Append(ctx, "party-a", eventstore.NoStream, newEvents("party.identified", 2))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Append with cancelled ctx: err = %v, want context.Canceled", err)
	}
	checkUnchanged(t, st, nil)
}

func (s suite) testReadStreamFromVersion(t *testing.T) {
	st := s.open(t)
	got := mustAppend(t, st, "party-a", eventstore.NoStream, newEvents("party.revised", 5)...)
	mustAppend(t, st, "party-b", eventstore.NoStream, newEvents("party.revised", 2)...)

	tests := []struct {
		from int64
		want []eventstore.Event
	}{
		{0, got},
		{1, got},
		{3, got[2:]},
		{5, got[4:]},
		{6, nil},
		{100, nil},
	}
	for _, tt := range tests {
		read := mustReadStream(t, st, "party-a", tt.from)
		if diff := cmp.Diff(tt.want, read, cmpEmptyEqual); diff != "" {
			t.Errorf("ReadStream(party-a, %d) (-want +got):\n%s", tt.from, diff)
		}
	}
	if read := mustReadStream(t, st, "party-none", 1); len(read) != 0 {
		t.Errorf("ReadStream of unknown stream returned %d events, want 0", len(read))
	}
}

// cmpEmptyEqual treats nil and empty slices as equal.
var cmpEmptyEqual = cmp.FilterValues(func(x, y []eventstore.Event) bool {
	return len(x) == 0 && len(y) == 0
}, cmp.Comparer(func(_, _ []eventstore.Event) bool { return true }))

func (s suite) testReadAllPaging(t *testing.T) {
	st := s.open(t)
	var appended []eventstore.Event
	for i := range 10 {
		appended = append(appended, mustAppend(t, st, fmt.Sprintf("party-%d", i%3), eventstore.AnyVersion, newEvent("party.revised"))...)
	}

	for _, limit := range []int{1, 3, 10, 11, 1000} {
		var paged []eventstore.Event
		var after int64
		for pages := 0; ; pages++ {
			if pages > 20 {
				t.Fatalf("limit %d: more than 20 pages for 10 events", limit)
			}
			page, err := st.ReadAll(t.Context(), after, limit)
			if err != nil {
				t.Fatalf("ReadAll(%d, %d): %v", after, limit, err)
			}
			if len(page) > limit {
				t.Fatalf("ReadAll(%d, %d) returned %d events", after, limit, len(page))
			}
			if len(page) == 0 {
				break
			}
			if page[0].Position <= after {
				t.Fatalf("ReadAll(%d, %d) starts at position %d", after, limit, page[0].Position)
			}
			paged = append(paged, page...)
			after = page[len(page)-1].Position
		}
		if diff := cmp.Diff(appended, paged); diff != "" {
			t.Errorf("limit %d: paged ReadAll differs from appended (-append +read):\n%s", limit, diff)
		}
	}

	mid := appended[4].Position
	page, err := st.ReadAll(t.Context(), mid, 3)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(appended[5:8], page); diff != "" {
		t.Errorf("ReadAll(after=%d, 3) (-want +got):\n%s", mid, diff)
	}
	last := appended[len(appended)-1].Position
	if page, err := st.ReadAll(t.Context(), last, 5); err != nil || len(page) != 0 {
		t.Errorf("ReadAll after the head = %d events, %v; want 0, nil", len(page), err)
	}
	s.checkLog(t, mustReadAll(t, st, 0))
}

func (s suite) testConcurrentAppendOrdering(t *testing.T) {
	st := s.open(t)
	const writers, appends = 8, 25
	results := make([][][]eventstore.Event, writers)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			stream := fmt.Sprintf("party-%d", w)
			var version int64
			for i := range appends {
				evs, err := st.Append(t.Context(), stream, version, newEvents("party.revised", 1+(w+i)%3))
				if err != nil {
					errs <- fmt.Errorf("writer %d append %d: %w", w, i, err)
					return
				}
				version = evs[len(evs)-1].Version
				results[w] = append(results[w], evs)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}

	all := mustReadAll(t, st, 0)
	s.checkLog(t, all)
	checkStreamVersions(t, all)
	byPos := make(map[int64]eventstore.Event, len(all))
	for _, ev := range all {
		byPos[ev.Position] = ev
	}
	total := 0
	for w, calls := range results {
		for i, evs := range calls {
			total += len(evs)
			for j, ev := range evs {
				if diff := cmp.Diff(ev, byPos[ev.Position]); diff != "" {
					t.Errorf("writer %d call %d event %d: stored event differs from returned (-returned +stored):\n%s", w, i, j, diff)
				}
				if j > 0 && !s.cfg.allowGaps && ev.Position != evs[j-1].Position+1 {
					t.Errorf("writer %d call %d: positions %d, %d not contiguous", w, i, evs[j-1].Position, ev.Position)
				}
			}
		}
	}
	if len(all) != total {
		t.Errorf("store holds %d events, appended %d", len(all), total)
	}
}

func (s suite) testReadThenAppendContention(t *testing.T) {
	st := s.open(t)
	const goroutines, streams = 16, 4
	perGoroutine := 200
	if testing.Short() {
		perGoroutine = 50
	}
	var (
		wg        sync.WaitGroup
		conflicts atomic.Int64
		mu        sync.Mutex
		succeeded = make(map[string]int64)
		failures  []error
	)
	fail := func(err error) {
		mu.Lock()
		failures = append(failures, err)
		mu.Unlock()
	}
	for g := range goroutines {
		wg.Go(func() {
			known := make(map[string]int64) // last version seen per stream
			for i, attempts := 0, 0; i < perGoroutine; attempts++ {
				if attempts > 100*perGoroutine {
					fail(fmt.Errorf("goroutine %d: %d attempts for %d appends: livelock", g, attempts, perGoroutine))
					return
				}
				stream := fmt.Sprintf("party-shared-%d", (g+i)%streams)
				evs, err := st.ReadStream(t.Context(), stream, known[stream]+1)
				if err != nil {
					fail(fmt.Errorf("goroutine %d: ReadStream: %w", g, err))
					return
				}
				for _, ev := range evs {
					if ev.Version != known[stream]+1 {
						fail(fmt.Errorf("goroutine %d: %s: read version %d after %d", g, stream, ev.Version, known[stream]))
						return
					}
					known[stream] = ev.Version
				}
				got, err := st.Append(t.Context(), stream, known[stream], []eventstore.Event{newEvent("requirement.revised")})
				switch {
				case errors.Is(err, eventstore.ErrConflict):
					conflicts.Add(1)
					continue
				case err != nil:
					fail(fmt.Errorf("goroutine %d: Append: %w", g, err))
					return
				}
				if want := known[stream] + 1; got[0].Version != want {
					fail(fmt.Errorf("goroutine %d: %s: appended version %d, want %d", g, stream, got[0].Version, want))
					return
				}
				known[stream] = got[0].Version
				mu.Lock()
				succeeded[stream]++
				mu.Unlock()
				i++
			}
		})
	}
	wg.Wait()
	for _, err := range failures {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	t.Logf("%d appends, %d conflicts retried", goroutines*perGoroutine, conflicts.Load())

	all := mustReadAll(t, st, 0)
	if got, want := len(all), goroutines*perGoroutine; got != want {
		t.Errorf("store holds %d events, want %d", got, want)
	}
	s.checkLog(t, all)
	versions := checkStreamVersions(t, all)
	if diff := cmp.Diff(succeeded, versions); diff != "" {
		t.Errorf("stream versions differ from successful appends (-appends +versions):\n%s", diff)
	}
}

func (s suite) testConcurrentNewStreams(t *testing.T) {
	st := s.open(t)
	const n = 64
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = st.Append(t.Context(), fmt.Sprintf("party-%02d", i), eventstore.NoStream, []eventstore.Event{newEvent("party.identified")})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("append %d: %v", i, err)
		}
	}
	all := mustReadAll(t, st, 0)
	if len(all) != n {
		t.Errorf("store holds %d events, want %d", len(all), n)
	}
	s.checkLog(t, all)
	for stream, v := range checkStreamVersions(t, all) {
		if v != 1 {
			t.Errorf("stream %s at version %d, want 1", stream, v)
		}
	}
}

// collector gathers what a subscription delivers and checks order as it
// goes.
type collector struct {
	mu      sync.Mutex
	events  []eventstore.Event
	after   int64
	errs    []error
	want    int
	reached chan struct{}
}

func newCollector(after int64, want int) *collector {
	return &collector{after: after, want: want, reached: make(chan struct{})}
}

func (c *collector) fn(_ context.Context, evs []eventstore.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(evs) == 0 {
		c.errs = append(c.errs, errors.New("fn called with no events"))
	}
	for _, ev := range evs {
		if ev.Position <= c.after {
			c.errs = append(c.errs, fmt.Errorf("position %d delivered after %d", ev.Position, c.after))
		}
		c.after = ev.Position
	}
	before := len(c.events)
	c.events = append(c.events, evs...)
	if before < c.want && len(c.events) >= c.want {
		close(c.reached)
	}
	return nil
}

func (c *collector) wait(t testing.TB, timeout time.Duration) {
	t.Helper()
	select {
	case <-c.reached:
	case <-time.After(timeout):
		c.mu.Lock()
		defer c.mu.Unlock()
		t.Fatalf("subscription delivered %d events within %s, want %d", len(c.events), timeout, c.want)
	}
}

func (c *collector) result(t testing.TB) []eventstore.Event {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, err := range c.errs {
		t.Error(err)
	}
	return append([]eventstore.Event(nil), c.events...)
}

// subscribe starts st.Subscribe in a goroutine and returns a function that
// cancels it and returns its error.
func subscribe(t testing.TB, st eventstore.Store, after int64, fn func(context.Context, []eventstore.Event) error) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- st.Subscribe(ctx, after, fn) }()
	return func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("Subscribe did not return within 10s of cancel")
			return nil
		}
	}
}

func (s suite) testSubscribeFromStartFollowsLive(t *testing.T) {
	st := s.open(t)
	const pre, writers, perWriter = 10, 4, 50
	for i := range pre {
		mustAppend(t, st, fmt.Sprintf("party-pre-%d", i%3), eventstore.AnyVersion, newEvent("party.revised"))
	}
	c := newCollector(0, pre+writers*perWriter)
	stop := subscribe(t, st, 0, c.fn)

	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				if _, err := st.Append(t.Context(), fmt.Sprintf("party-live-%d", w), int64(i), []eventstore.Event{newEvent("party.revised")}); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	c.wait(t, 30*time.Second)
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Errorf("Subscribe returned %v after cancel, want context.Canceled", err)
	}
	got := c.result(t)
	all := mustReadAll(t, st, 0)
	if diff := cmp.Diff(all, got); diff != "" {
		t.Errorf("subscription differs from ReadAll (-ReadAll +delivered):\n%s", diff)
	}
}

func (s suite) testSubscribeFromMiddle(t *testing.T) {
	st := s.open(t)
	appended := mustAppend(t, st, "party-a", eventstore.NoStream, newEvents("party.revised", 10)...)
	after := appended[3].Position

	c := newCollector(after, 8)
	stop := subscribe(t, st, after, c.fn)
	appended = append(appended, mustAppend(t, st, "party-b", eventstore.NoStream, newEvents("party.revised", 2)...)...)
	c.wait(t, 10*time.Second)
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Errorf("Subscribe returned %v after cancel, want context.Canceled", err)
	}
	if diff := cmp.Diff(appended[4:], c.result(t)); diff != "" {
		t.Errorf("subscription from position %d (-want +delivered):\n%s", after, diff)
	}
}

func (s suite) testSubscribeStopsOnCancel(t *testing.T) {
	st := s.open(t)
	calls := atomic.Int64{}
	stop := subscribe(t, st, 0, func(context.Context, []eventstore.Event) error {
		calls.Add(1)
		return nil
	})
	time.Sleep(50 * time.Millisecond) // let it reach the live wait
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Errorf("Subscribe on idle store returned %v after cancel, want context.Canceled", err)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("fn called %d times on an empty store, want 0", n)
	}

	ctx, cancel := context.WithTimeout(t.Context(), time.Millisecond)
	defer cancel()
	if err := st.Subscribe(ctx, 0, func(context.Context, []eventstore.Event) error { return nil }); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Subscribe with deadline returned %v, want context.DeadlineExceeded", err)
	}
}

func (s suite) testSubscribeReturnsFnError(t *testing.T) {
	st := s.open(t)
	mustAppend(t, st, "party-a", eventstore.NoStream, newEvents("party.revised", 3)...)
	errBoom := errors.New("boom")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	calls := 0
	err := st.Subscribe(ctx, 0, func(context.Context, []eventstore.Event) error {
		calls++
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Errorf("Subscribe returned %v, want fn's error", err)
	}
	if calls != 1 {
		t.Errorf("fn called %d times after returning an error, want 1", calls)
	}
}

func (s suite) testAppendAfterClose(t *testing.T) {
	st := s.open(t)
	mustAppend(t, st, "party-a", eventstore.NoStream, newEvent("party.identified"))
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	_, err := st.Append(t.Context(), "party-a", 1, []eventstore.Event{newEvent("party.revised")})
	if !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("Append after Close: err = %v, want ErrClosed", err)
	}
}

func (s suite) testAppendStreamsAtomic(t *testing.T) {
	st := s.open(t)
	mustAppend(t, st, "party-b", eventstore.NoStream, newEvent("party.identified"))
	got, err := st.AppendStreams(t.Context(), []eventstore.StreamAppend{
		{Stream: "party-a", ExpectedVersion: eventstore.NoStream, Events: newEvents("party.identified", 2)},
		{Stream: "party-b", ExpectedVersion: 1, Events: newEvents("party.revised", 1)},
		{Stream: "name-x", ExpectedVersion: eventstore.AnyVersion, Events: newEvents("name.claimed", 1)},
	})
	if err != nil {
		t.Fatalf("AppendStreams: %v", err)
	}
	if len(got) != 3 || len(got[0]) != 2 || len(got[1]) != 1 || len(got[2]) != 1 {
		t.Fatalf("AppendStreams returned parts of sizes %v, want 2, 1, 1", partSizes(got))
	}
	wantVersions := [][]int64{{1, 2}, {2}, {1}}
	var prev eventstore.Event
	for i, part := range got {
		for j, ev := range part {
			if ev.Version != wantVersions[i][j] {
				t.Errorf("part %d event %d: version %d, want %d", i, j, ev.Version, wantVersions[i][j])
			}
			if prev.Position != 0 && ev.Position <= prev.Position {
				t.Errorf("part %d event %d: position %d not after %d", i, j, ev.Position, prev.Position)
			}
			prev = ev
		}
	}
	for i, stream := range []string{"party-a", "party-b", "name-x"} {
		read := mustReadStream(t, st, stream, got[i][0].Version)
		if diff := cmp.Diff(got[i], read); diff != "" {
			t.Errorf("ReadStream(%s) differs from AppendStreams' result (-append +read):\n%s", stream, diff)
		}
	}
	s.checkLog(t, mustReadAll(t, st, 0))
}

func partSizes(parts [][]eventstore.Event) []int {
	n := make([]int, len(parts))
	for i, p := range parts {
		n[i] = len(p)
	}
	return n
}

func (s suite) testAppendStreamsConflictWritesNothing(t *testing.T) {
	st := s.open(t)
	mustAppend(t, st, "name-x", eventstore.NoStream, newEvent("name.claimed"))
	before := mustReadAll(t, st, 0)
	// The first part alone would succeed; the second's expected version is
	// stale, so neither may be stored.
	_, err := st.AppendStreams(t.Context(), []eventstore.StreamAppend{
		{Stream: "party-a", ExpectedVersion: eventstore.NoStream, Events: newEvents("party.identified", 1)},
		{Stream: "name-x", ExpectedVersion: eventstore.NoStream, Events: newEvents("name.claimed", 1)},
	})
	checkConflict(t, err, "name-x", eventstore.NoStream, 1)
	checkUnchanged(t, st, before)
	if evs := mustReadStream(t, st, "party-a", 1); len(evs) != 0 {
		t.Errorf("party-a holds %d events after a failed multi-stream append, want 0", len(evs))
	}
}

func (s suite) testAppendStreamsInvalid(t *testing.T) {
	st := s.open(t)
	mustAppend(t, st, "party-a", eventstore.NoStream, newEvent("party.identified"))
	before := mustReadAll(t, st, 0)
	dup := newEvent("party.revised")
	for name, parts := range map[string][]eventstore.StreamAppend{
		"no parts": nil,
		"stream twice": {
			{Stream: "party-b", ExpectedVersion: eventstore.AnyVersion, Events: newEvents("x", 1)},
			{Stream: "party-b", ExpectedVersion: eventstore.AnyVersion, Events: newEvents("x", 1)},
		},
		"part without events": {
			{Stream: "party-b", ExpectedVersion: eventstore.AnyVersion, Events: newEvents("x", 1)},
			{Stream: "party-c", ExpectedVersion: eventstore.AnyVersion},
		},
		"id repeated across parts": {
			{Stream: "party-b", ExpectedVersion: eventstore.AnyVersion, Events: []eventstore.Event{dup}},
			{Stream: "party-c", ExpectedVersion: eventstore.AnyVersion, Events: []eventstore.Event{dup}},
		},
	} {
		if _, err := st.AppendStreams(t.Context(), parts); !errors.Is(err, eventstore.ErrInvalid) {
			t.Errorf("%s: err = %v, want one matching ErrInvalid", name, err)
		}
	}
	checkUnchanged(t, st, before)
}

// testAppendStreamsRace is the uniqueness race: many appends that each
// create their own stream and claim one shared stream at version 0. Exactly
// one may win; the others conflict and write nothing.
func (s suite) testAppendStreamsRace(t *testing.T) {
	st := s.open(t)
	const n = 20
	var wg sync.WaitGroup
	var won, conflicts atomic.Int32
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := st.AppendStreams(t.Context(), []eventstore.StreamAppend{
				{Stream: fmt.Sprintf("party-%d", i), ExpectedVersion: eventstore.NoStream, Events: newEvents("party.identified", 1)},
				{Stream: "name-shared", ExpectedVersion: eventstore.NoStream, Events: newEvents("name.claimed", 1)},
			})
			switch {
			case err == nil:
				won.Add(1)
			case errors.Is(err, eventstore.ErrConflict):
				conflicts.Add(1)
			default:
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("AppendStreams: %v", err)
	}
	if won.Load() != 1 || conflicts.Load() != n-1 {
		t.Errorf("won %d, conflicts %d; want 1 and %d", won.Load(), conflicts.Load(), n-1)
	}
	all := mustReadAll(t, st, 0)
	if len(all) != 2 {
		t.Errorf("the log holds %d events, want 2 (one party, one claim)", len(all))
	}
	s.checkLog(t, all)
}
