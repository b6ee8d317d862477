package bus_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/google/uuid"

	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/eventstore/sqlite"
	"github.com/partyledger/partyledger/handlers/bus"
	"github.com/partyledger/partyledger/handlers/pipeline"
	"github.com/partyledger/partyledger/handlers/pipeline/pipelinetest"
)

func MustOpenStore(tb testing.TB) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "events.db"), sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func MustOpenDB(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	db, err := sqlite.OpenDB(path, sqlite.WithSynchronous(sqlite.SynchronousNormal))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// MustPipeline returns the change pipeline of a read model following st.
func MustPipeline(tb testing.TB, st eventstore.Store) *pipeline.Pipeline {
	tb.Helper()
	p, _ := pipelinetest.MustOpen(tb, st)
	return p
}

func MustCheckpoints(tb testing.TB, db *sql.DB) *bus.Checkpoints {
	tb.Helper()
	cp, err := bus.OpenCheckpoints(context.Background(), db)
	if err != nil {
		tb.Fatal(err)
	}
	return cp
}

func testEvent(typ string) eventstore.Event {
	return eventstore.Event{ID: uuid.Must(uuid.NewV7()).String(), Type: typ, Schema: 1,
		Time: time.Now().UTC(), Actor: "alice", Reason: "test", Trigger: "other", Data: json.RawMessage(`{"n":1}`)}
}

// mustAppendN appends n events round-robin over a few streams and returns
// them as stored.
func mustAppendN(tb testing.TB, st eventstore.Store, n int) []eventstore.Event {
	tb.Helper()
	var out []eventstore.Event
	for i := range n {
		evs, err := st.Append(context.Background(), fmt.Sprintf("party-%d", i%7), eventstore.AnyVersion,
			[]eventstore.Event{testEvent([]string{"party.identified", "party.revised", "requirement.identified"}[i%3])})
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, evs...)
	}
	return out
}

// recorder subscribes to every change on the in-process bus.
type recorder struct {
	mu   sync.Mutex
	msgs []*message.Message
}

func startRecorder(tb testing.TB, p *bus.InProcess) *recorder {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	ch, err := p.Subscribe(ctx, bus.AllTopic)
	if err != nil {
		tb.Fatal(err)
	}
	r := &recorder{}
	go func() {
		for m := range ch {
			r.mu.Lock()
			r.msgs = append(r.msgs, m)
			r.mu.Unlock()
			m.Ack()
		}
	}()
	return r
}

func (r *recorder) snapshot() []*message.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*message.Message(nil), r.msgs...)
}

// crashingPublisher publishes through pub and, after limit messages,
// cancels the forwarder's context and fails: a crash between publish and
// checkpoint.
type crashingPublisher struct {
	message.Publisher
	limit  int64
	n      atomic.Int64
	cancel context.CancelFunc
}

func (c *crashingPublisher) Publish(topic string, msgs ...*message.Message) error {
	if c.n.Add(1) > c.limit {
		c.cancel()
		return errors.New("crash")
	}
	return c.Publisher.Publish(topic, msgs...)
}

func waitPosition(tb testing.TB, f *bus.Forwarder, pos int64) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for f.Position() < pos {
		if time.Now().After(deadline) {
			tb.Fatalf("forwarder at position %d, want %d", f.Position(), pos)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestForwarderResumesAfterRestart crashes a forwarder between publishing
// and saving its checkpoint, starts a new one on the same checkpoint file
// while more events are appended, and checks that every event reached the
// bus, in position order, with duplicates only of what was published after
// the last checkpoint and with the same id.
func TestForwarderResumesAfterRestart(t *testing.T) {
	st := MustOpenStore(t)
	rmPath := filepath.Join(t.TempDir(), "readmodel.db")
	stored := mustAppendN(t, st, 300)

	pub := bus.NewInProcess(nil)
	defer pub.Close()
	rec := startRecorder(t, pub)

	// First life: crash after 150 publishes, mid-batch.
	ctx1, cancel1 := context.WithCancel(t.Context())
	crash := &crashingPublisher{Publisher: pub, limit: 150, cancel: cancel1}
	changes := MustPipeline(t, st)
	f1 := &bus.Forwarder{Changes: changes, Publisher: crash, Checkpoints: MustCheckpoints(t, MustOpenDB(t, rmPath))}
	if err := f1.Run(ctx1); !errors.Is(err, context.Canceled) {
		t.Fatalf("first forwarder: %v, want context.Canceled", err)
	}
	saved := f1.Position()
	if saved <= 0 || saved > 150 {
		t.Fatalf("checkpoint after the crash = %d, want in (0, 150]", saved)
	}
	firstLife := len(rec.snapshot())
	if firstLife != 150 {
		t.Fatalf("first life published %d messages, want 150", firstLife)
	}

	// Second life: a new process on the same read-model file.
	ctx2, cancel2 := context.WithCancel(t.Context())
	f2 := &bus.Forwarder{Changes: changes, Publisher: pub, Checkpoints: MustCheckpoints(t, MustOpenDB(t, rmPath))}
	done := make(chan error, 1)
	go func() { done <- f2.Run(ctx2) }()
	stored = append(stored, mustAppendN(t, st, 50)...)
	waitPosition(t, f2, stored[len(stored)-1].Position)
	cancel2()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("second forwarder: %v", err)
	}

	got := rec.snapshot()
	byID := map[string]eventstore.Event{}
	for _, ev := range stored {
		byID[ev.ID] = ev
	}
	seen := map[string]int{}
	var last int64
	for i, m := range got {
		c, err := bus.ParseMessage(m)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		ev, ok := byID[c.ID]
		if !ok {
			t.Fatalf("message %d: unknown id %s", i, c.ID)
		}
		if m.UUID != ev.ID || c.Data.Hash != ev.Hash || c.Data.Position != ev.Position {
			t.Errorf("message %d: uuid %s, data position %d; want the stored event %s at %d", i, m.UUID, c.Data.Position, ev.ID, ev.Position)
		}
		seen[c.ID]++
		if seen[c.ID] > 1 {
			if ev.Position <= saved || ev.Position > 150 {
				t.Errorf("event at position %d delivered twice; only (%d, 150] may be", ev.Position, saved)
			}
		} else if ev.Position != last+1 {
			t.Errorf("first delivery of position %d after %d: out of order or lost", ev.Position, last)
		}
		if seen[c.ID] == 1 {
			last = ev.Position
		}
	}
	for _, ev := range stored {
		if seen[ev.ID] == 0 {
			t.Errorf("event at position %d never reached the bus", ev.Position)
		}
	}
	t.Logf("%d events, %d messages (%d duplicates after the crash at checkpoint %d)", len(stored), len(got), len(got)-len(stored), saved)
}

// failingPublisher fails its first n publishes.
type failingPublisher struct {
	message.Publisher
	fails atomic.Int64
}

func (f *failingPublisher) Publish(topic string, msgs ...*message.Message) error {
	if f.fails.Add(-1) >= 0 {
		return errors.New("broker down")
	}
	return f.Publisher.Publish(topic, msgs...)
}

func TestForwarderRetriesFailedPublish(t *testing.T) {
	st := MustOpenStore(t)
	stored := mustAppendN(t, st, 20)
	pub := bus.NewInProcess(nil)
	defer pub.Close()
	rec := startRecorder(t, pub)
	fp := &failingPublisher{Publisher: pub}
	fp.fails.Store(3)
	f := &bus.Forwarder{Changes: MustPipeline(t, st), Publisher: fp, Checkpoints: MustCheckpoints(t, MustOpenDB(t, filepath.Join(t.TempDir(), "rm.db"))),
		RetryDelay: time.Millisecond}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go f.Run(ctx)
	waitPosition(t, f, stored[len(stored)-1].Position)
	got := rec.snapshot()
	if len(got) != len(stored) {
		t.Errorf("%d messages, want %d", len(got), len(stored))
	}
	for i := range min(len(got), len(stored)) {
		if got[i].UUID != stored[i].ID {
			t.Errorf("message %d: %s, want %s", i, got[i].UUID, stored[i].ID)
		}
	}
}

func TestMessageIsCloudEvent(t *testing.T) {
	st := MustOpenStore(t)
	ev := mustAppendN(t, st, 1)[0]
	msg, err := bus.NewMessage(ev, "urn:partyledger:test")
	if err != nil {
		t.Fatal(err)
	}
	if msg.UUID != ev.ID || msg.Metadata.Get(bus.MetaMsgID) != ev.ID || msg.Metadata.Get(bus.MetaContentType) != bus.ContentType {
		t.Errorf("uuid %s, metadata %v; want the event id %s and the CloudEvents content type", msg.UUID, msg.Metadata, ev.ID)
	}
	var ce map[string]any
	if err := json.Unmarshal(msg.Payload, &ce); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"specversion": "1.0", "id": ev.ID, "source": "urn:partyledger:test",
		"type": "party.identified", "subject": "party-0", "datacontenttype": "application/json"} {
		if ce[k] != want {
			t.Errorf("%s = %v, want %v", k, ce[k], want)
		}
	}
	if tm, err := time.Parse(time.RFC3339Nano, fmt.Sprint(ce["time"])); err != nil || !tm.Equal(ev.Time) {
		t.Errorf("time = %v, want %s (RFC 3339)", ce["time"], ev.Time)
	}
	data, _ := ce["data"].(map[string]any)
	if data["hash"] != ev.Hash || data["position"] != float64(ev.Position) {
		t.Errorf("data = %v, want the whole envelope", data)
	}
	if bus.Topic(ev.Type) != "partyledger.changes.party.identified" {
		t.Errorf("topic %s", bus.Topic(ev.Type))
	}
}

// TestRouterRetriesAndPoisons runs the in-process bus with three handlers:
// one that fails twice before it succeeds (retried), one that always fails
// and one that panics (both poisoned). Every change reaches every handler
// and the bus keeps going.
func TestRouterRetriesAndPoisons(t *testing.T) {
	st := MustOpenStore(t)
	stored := mustAppendN(t, st, 5)
	cp := MustCheckpoints(t, MustOpenDB(t, filepath.Join(t.TempDir(), "rm.db")))
	pub := bus.NewInProcess(nil)
	defer pub.Close()
	poison := cp.NewPoisonTable()
	b, err := bus.New(bus.Config{Subscriber: pub.Subscriber, Poison: poison,
		Retry: middleware.Retry{MaxRetries: 3, InitialInterval: time.Millisecond, Multiplier: 1}})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		attempts = map[string]int{}
		handled  []string
	)
	flaky := bus.NewHandler("test.flaky", func(ctx context.Context, c *bus.Change) error {
		mu.Lock()
		defer mu.Unlock()
		attempts[c.ID]++
		if attempts[c.ID] <= 2 {
			return errors.New("transient")
		}
		handled = append(handled, c.ID)
		return nil
	})
	broken := bus.NewHandler("test.broken", func(ctx context.Context, c *bus.Change) error {
		if c.Data.Position == stored[1].Position {
			return errors.New("cannot handle this one")
		}
		return nil
	})
	panicky := bus.NewHandler("test.panicky", func(ctx context.Context, c *bus.Change) error {
		if c.Data.Position == stored[3].Position {
			panic("boom")
		}
		return nil
	})
	for _, h := range []cqrs.EventHandler{flaky, broken, panicky} {
		if err := b.AddHandler(h); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go b.Run(ctx)
	<-b.Running()
	defer b.Close()

	f := &bus.Forwarder{Changes: MustPipeline(t, st), Publisher: pub, Checkpoints: cp}
	go f.Run(ctx)
	waitPosition(t, f, stored[len(stored)-1].Position)

	mu.Lock()
	if len(handled) != len(stored) {
		t.Errorf("flaky handler handled %d changes, want %d", len(handled), len(stored))
	}
	for i := range min(len(handled), len(stored)) {
		if handled[i] != stored[i].ID {
			t.Errorf("handled[%d] = %s, want %s", i, handled[i], stored[i].ID)
		}
	}
	mu.Unlock()
	got, err := poison.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{stored[1].ID: "test.broken", stored[3].ID: "test.panicky"}
	if len(got) != len(want) {
		t.Fatalf("poison queue holds %d messages, want %d: %+v", len(got), len(want), got)
	}
	for _, p := range got {
		if want[p.MessageUUID] != p.Handler || p.Reason == "" {
			t.Errorf("poisoned %s by %q (%s), want handler %q", p.MessageUUID, p.Handler, p.Reason, want[p.MessageUUID])
		}
	}
}

// TestCheckpointsAdopt moves a forwarder's checkpoint from the read-model
// file, where earlier versions kept it, into a new database: a checkpoint
// the new one lacks is copied, one it has is kept, and a database without
// the table adopts nothing.
func TestCheckpointsAdopt(t *testing.T) {
	ctx := t.Context()
	oldDB := MustOpenDB(t, filepath.Join(t.TempDir(), "plain.db"))
	cp := MustCheckpoints(t, MustOpenDB(t, filepath.Join(t.TempDir(), "events.db")))
	if err := cp.Save(ctx, "other", 9); err != nil {
		t.Fatal(err)
	}
	if err := cp.Adopt(ctx, oldDB); err != nil {
		t.Fatalf("adopt from a database without the table: %v", err)
	}
	// The read-model file of an earlier version.
	src := MustOpenDB(t, filepath.Join(t.TempDir(), "readmodel.db"))
	srcCP := MustCheckpoints(t, src)
	for name, pos := range map[string]int64{"forwarder": 42, "other": 7} {
		if err := srcCP.Save(ctx, name, pos); err != nil {
			t.Fatal(err)
		}
	}
	if err := cp.Adopt(ctx, src); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int64{"forwarder": 42, "other": 9} {
		got, err := cp.Load(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("checkpoint %s = %d, want %d", name, got, want)
		}
	}
}
