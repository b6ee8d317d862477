package bus_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/partyledger/partyledger/eventstore/jetstream/embedded"
	"github.com/partyledger/partyledger/handlers/bus"
)

// TestNATSBus runs two forwarders (two replicas, each with its own
// checkpoint file) over one log into the NATS bus, and a durable in-process
// handler. The changes stream holds every event once, under its subject
// and with the event id as Nats-Msg-Id, and the handler sees every change.
func TestNATSBus(t *testing.T) {
	srv, err := embedded.Start(embedded.Config{StoreDir: t.TempDir(), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	dial := func() (*nats.Conn, error) { return nats.Connect(srv.ClientURL()) }
	nc, err := dial()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()

	st := MustOpenStore(t)
	stored := mustAppendN(t, st, 40)
	nb, err := bus.NewNATS(t.Context(), nc, bus.NATSOptions{Dial: dial})
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var fwds []*bus.Forwarder
	for i := range 2 {
		cp := MustCheckpoints(t, MustOpenDB(t, filepath.Join(t.TempDir(), "rm.db")))
		f := &bus.Forwarder{Changes: MustPipeline(t, st), Publisher: nb, Checkpoints: cp}
		fwds = append(fwds, f)
		go f.Run(ctx)
		if i == 0 {
			// The in-process handler, on the first replica.
			b, err := bus.New(bus.Config{Subscriber: nb.Subscriber, Poison: cp.NewPoisonTable()})
			if err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			seen := map[string]int{}
			if err := b.AddHandler(bus.NewHandler("test.nats-handler", func(ctx context.Context, c *bus.Change) error {
				mu.Lock()
				seen[c.ID]++
				mu.Unlock()
				return nil
			})); err != nil {
				t.Fatal(err)
			}
			go b.Run(ctx)
			<-b.Running()
			defer b.Close()
			defer func() {
				deadline := time.Now().Add(20 * time.Second)
				for {
					mu.Lock()
					n := len(seen)
					mu.Unlock()
					if n == len(stored) || time.Now().After(deadline) {
						break
					}
					time.Sleep(10 * time.Millisecond)
				}
				mu.Lock()
				defer mu.Unlock()
				for _, ev := range stored {
					if seen[ev.ID] == 0 {
						t.Errorf("handler never saw event %d", ev.Position)
					}
				}
			}()
		}
	}
	for _, f := range fwds {
		waitPosition(t, f, stored[len(stored)-1].Position)
	}

	js, _ := jetstream.New(nc)
	str, err := js.Stream(t.Context(), bus.DefaultChangesStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := str.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := info.State.Msgs; got != uint64(len(stored)) {
		t.Errorf("changes stream holds %d messages for %d events published twice, want each once", got, len(stored))
	}
	for i, ev := range stored {
		m, err := str.GetMsg(t.Context(), uint64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject != bus.Topic(ev.Type) || m.Header.Get(nats.MsgIdHdr) != ev.ID {
			t.Errorf("message %d: subject %s, Nats-Msg-Id %s; want %s, %s", i+1, m.Subject, m.Header.Get(nats.MsgIdHdr), bus.Topic(ev.Type), ev.ID)
		}
	}
}
