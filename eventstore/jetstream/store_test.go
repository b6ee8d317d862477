package jetstream_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/eventstore/jetstream"
	"github.com/partyledger/partyledger/eventstore/jetstream/embedded"
	"github.com/partyledger/partyledger/eventstore/storetest"
	"github.com/partyledger/partyledger/eventstore/verify"
)

// MustRunServer starts a single embedded NATS server with JetStream
// (SyncAlways, storage in a temporary directory) on a random loopback port.
func MustRunServer(tb testing.TB) *server.Server {
	tb.Helper()
	return mustRunServer(tb, true)
}

// MustRunFastServer is [MustRunServer] without SyncAlways: for tests of
// semantics, not of durability, which would otherwise wait for an fsync
// per append.
func MustRunFastServer(tb testing.TB) *server.Server {
	tb.Helper()
	return mustRunServer(tb, false)
}

func mustRunServer(tb testing.TB, syncAlways bool) *server.Server {
	tb.Helper()
	s, err := embedded.Start(embedded.Config{StoreDir: tb.TempDir(), Port: -1, SyncAlways: syncAlways})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

// MustConnect connects to url and closes the connection at the end of the
// test.
func MustConnect(tb testing.TB, url string, opts ...nats.Option) *nats.Conn {
	tb.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	return nc
}

var storeSeq atomic.Int64

// MustOpenStore opens a store on a stream of its own.
func MustOpenStore(tb testing.TB, nc *nats.Conn, opts jetstream.Options) *jetstream.Store {
	tb.Helper()
	n := storeSeq.Add(1)
	if opts.Stream == "" {
		opts.Stream = fmt.Sprintf("T%d", n)
		opts.SubjectPrefix = fmt.Sprintf("t%d.events", n)
	}
	if opts.Profile == "" {
		opts.Profile = jetstream.ProfileDurable
		opts.SyncCheck = jetstream.SyncAlwaysConfigured
	}
	st, err := jetstream.Open(context.Background(), nc, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// TestStore runs the contract suite on a server without SyncAlways (the
// semantics are the same; TestSubjectsAndHeaders and the cluster test run
// with it).
func TestStore(t *testing.T) {
	srv := MustRunFastServer(t)
	nc := MustConnect(t, srv.ClientURL())
	storetest.RunStoreTests(t, func(t *testing.T) eventstore.Store {
		return MustOpenStore(t, nc, jetstream.Options{})
	}, storetest.ChainCheck(jetstream.CheckChain))
}

func testEvent(typ string) eventstore.Event {
	return eventstore.Event{ID: uuid.Must(uuid.NewV7()).String(), Type: typ, Schema: 1,
		Time: time.Now().UTC(), Actor: "alice", Reason: "test", Trigger: "other", Data: json.RawMessage(`{"n":1}`)}
}

func mustAppend(tb testing.TB, st eventstore.Store, stream string, expected int64, evs ...eventstore.Event) []eventstore.Event {
	tb.Helper()
	got, err := st.Append(context.Background(), stream, expected, evs)
	if err != nil {
		tb.Fatalf("Append(%s, %d): %v", stream, expected, err)
	}
	return got
}

// TestSubjectsAndHeaders checks the layout integrators and operators see:
// one subject per aggregate stream, Nats-Msg-Id = event id, the version
// header, and the JetStream sequence as the position.
func TestSubjectsAndHeaders(t *testing.T) {
	srv := MustRunServer(t)
	nc := MustConnect(t, srv.ClientURL())
	st := MustOpenStore(t, nc, jetstream.Options{Stream: "PARTYLEDGER", Profile: jetstream.ProfileDurable, SyncCheck: jetstream.SyncAlwaysConfigured})
	id := uuid.Must(uuid.NewV7()).String()
	got := mustAppend(t, st, "party-"+id, eventstore.NoStream, testEvent("party.identified"), testEvent("party.revised"))

	js, _ := natsjs.New(nc)
	stream, err := js.Stream(t.Context(), "PARTYLEDGER")
	if err != nil {
		t.Fatal(err)
	}
	cfg := stream.CachedInfo().Config
	if cfg.Storage != natsjs.FileStorage || !cfg.AllowAtomicPublish || !cfg.DenyDelete || !cfg.DenyPurge || cfg.Subjects[0] != "partyledger.events.>" {
		t.Errorf("stream config %+v", cfg)
	}
	m, err := stream.GetMsg(t.Context(), uint64(got[1].Position))
	if err != nil {
		t.Fatal(err)
	}
	if want := "partyledger.events.party." + id; m.Subject != want {
		t.Errorf("subject %s, want %s", m.Subject, want)
	}
	if m.Header.Get(nats.MsgIdHdr) != got[1].ID || m.Header.Get(jetstream.HeaderVersion) != "2" {
		t.Errorf("headers %v, want Nats-Msg-Id %s and version 2", m.Header, got[1].ID)
	}
	if got[0].Position != 1 || got[1].Position != 2 {
		t.Errorf("positions %d, %d; want the sequences 1, 2", got[0].Position, got[1].Position)
	}
	var body map[string]any
	if err := json.Unmarshal(m.Data, &body); err != nil || body["hash"] != got[1].Hash || body["prev_hash"] != got[0].Hash {
		t.Errorf("body %s (%v)", m.Data, err)
	}
}

// TestLostAckIsNotAConflict covers a publish that was stored but whose
// answer never came back, for one event and for an atomic batch:
//
//   - "retried": the retry reaches the server after the first attempt was
//     stored, the server refuses it with "wrong last sequence", and Append
//     must see that the stream's next message is its own;
//   - "timed out": the answer is lost and Append finds its events before
//     retrying.
//
// Either way Append returns the events as stored, once, not a conflict.
func TestLostAckIsNotAConflict(t *testing.T) {
	srv := MustRunServer(t)
	nc := MustConnect(t, srv.ClientURL())
	for _, hook := range []struct {
		name string
		set  func(*jetstream.Store)
	}{
		{"retried", func(s *jetstream.Store) { jetstream.SendTwice(s, 1) }},
		{"timed out", func(s *jetstream.Store) { jetstream.LoseAnswers(s, 1) }},
	} {
		for _, n := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s/%d events", hook.name, n), func(t *testing.T) {
				st := MustOpenStore(t, nc, jetstream.Options{})
				mustAppend(t, st, "party-a", eventstore.NoStream, testEvent("party.identified"))
				evs := make([]eventstore.Event, n)
				for i := range evs {
					evs[i] = testEvent("party.revised")
				}
				hook.set(st)
				got, err := st.Append(t.Context(), "party-a", 1, evs)
				if err != nil {
					t.Fatalf("Append after a lost answer: %v", err)
				}
				all, err := st.ReadStream(t.Context(), "party-a", 1)
				if err != nil {
					t.Fatal(err)
				}
				if len(all) != 1+n {
					t.Fatalf("stream holds %d events, want %d (stored once)", len(all), 1+n)
				}
				for i, ev := range got {
					if all[1+i].ID != ev.ID || all[1+i].Position != ev.Position || ev.Version != int64(2+i) || all[1+i].Hash != ev.Hash {
						t.Errorf("returned %+v, stored %+v", ev, all[1+i])
					}
				}
				if err := jetstream.CheckChain(mustReadAll(t, st)); err != nil {
					t.Error(err)
				}
			})
		}
	}
}

func mustReadAll(tb testing.TB, st eventstore.Store) []eventstore.Event {
	tb.Helper()
	all, err := st.ReadAll(context.Background(), 0, 100000)
	if err != nil {
		tb.Fatal(err)
	}
	return all
}

// TestProfileRefusesMismatch opens existing streams that do not meet the
// durable or HA profile, and a server whose fsync policy is unknown, and
// checks the refusal says why.
func TestProfileRefusesMismatch(t *testing.T) {
	srv := MustRunServer(t)
	nc := MustConnect(t, srv.ClientURL())
	js, _ := natsjs.New(nc)
	_, err := js.CreateStream(t.Context(), natsjs.StreamConfig{Name: "MEM", Subjects: []string{"mem.events.>"}, Storage: natsjs.MemoryStorage,
		AllowAtomicPublish: true, DenyDelete: true, DenyPurge: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = js.CreateStream(t.Context(), natsjs.StreamConfig{Name: "NOBATCH", Subjects: []string{"nobatch.events.>"}, Storage: natsjs.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts jetstream.Options
		want []string
	}{
		{"memory storage", jetstream.Options{Stream: "MEM", SubjectPrefix: "mem.events", SyncCheck: jetstream.SyncAlwaysConfigured}, []string{"storage is memory, want file"}},
		{"no atomic batch, deletes allowed", jetstream.Options{Stream: "NOBATCH", SubjectPrefix: "nobatch.events", SyncCheck: jetstream.SyncAlwaysConfigured},
			[]string{"atomic batch publish is off", "deny_delete is false"}},
		{"HA on R1", jetstream.Options{Stream: "HA1", SubjectPrefix: "ha1.events", Profile: jetstream.ProfileHA, Replicas: 1, SyncCheck: jetstream.SyncAlwaysConfigured},
			[]string{"replicas is 1, want at least 3"}},
		{"fsync unknown", jetstream.Options{Stream: "NOSYNC", SubjectPrefix: "nosync.events"}, []string{"sync_interval: always", "no way to check"}},
		{"fsync off", jetstream.Options{Stream: "SYNCOFF", SubjectPrefix: "syncoff.events",
			SyncCheck: func(context.Context) error { return errors.New("server n1: sync_always is false") }}, []string{"server n1: sync_always is false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := jetstream.Open(t.Context(), nc, tt.opts)
			if !errors.Is(err, jetstream.ErrProfile) {
				t.Fatalf("Open: %v, want ErrProfile", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	// The dev profile accepts the memory stream.
	if _, err := jetstream.Open(t.Context(), nc, jetstream.Options{Stream: "MEM", SubjectPrefix: "mem.events", Profile: jetstream.ProfileDev}); err != nil {
		t.Errorf("dev profile on a memory stream: %v", err)
	}
}

// TestChainDetectsTampering checks that the per-stream chain catches an
// altered, a removed and a reordered event.
func TestChainDetectsTampering(t *testing.T) {
	srv := MustRunServer(t)
	nc := MustConnect(t, srv.ClientURL())
	st := MustOpenStore(t, nc, jetstream.Options{})
	for i := range 6 {
		mustAppend(t, st, fmt.Sprintf("party-%d", i%2), eventstore.AnyVersion, testEvent("party.revised"))
	}
	res, err := verify.Verify(t.Context(), verify.FromStore(t.Context(), st, 0, 0), st.VerifyRules())
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK || res.Events != 6 {
		t.Fatalf("intact log: %+v", res)
	}
	all, _ := st.ReadAll(t.Context(), 0, 100)
	altered := append([]eventstore.Event(nil), all...)
	altered[2].Reason = "edited"
	removed := append(append([]eventstore.Event(nil), all[:2]...), all[3:]...)
	swapped := append([]eventstore.Event(nil), all...)
	swapped[2], swapped[4] = swapped[4], swapped[2]
	for name, log := range map[string][]eventstore.Event{"altered": altered, "removed": removed, "swapped": swapped} {
		if err := jetstream.CheckChain(log); err == nil {
			t.Errorf("%s: CheckChain found nothing", name)
		}
	}
}

// TestVarzSyncCheck asks the monitoring endpoint of a server with and of
// one without SyncAlways.
func TestVarzSyncCheck(t *testing.T) {
	for _, syncAlways := range []bool{true, false} {
		s, err := embedded.Start(embedded.Config{StoreDir: t.TempDir(), Port: -1, MonitorPort: -1, SyncAlways: syncAlways})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Shutdown()
		err = jetstream.VarzSyncCheck([]string{"http://" + s.MonitorAddr().String()}, nil)(t.Context())
		switch {
		case syncAlways && err != nil:
			t.Errorf("SyncAlways server: %v", err)
		case !syncAlways && (err == nil || !strings.Contains(err.Error(), "not always")):
			t.Errorf("server without SyncAlways: %v, want an error saying sync_interval is not always", err)
		}
	}
}
