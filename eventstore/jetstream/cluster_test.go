package jetstream_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/eventstore/jetstream"
	"github.com/partyledger/partyledger/eventstore/jetstream/embedded/clustertest"
)

// MustRunCluster starts a 3-node (or n-node) JetStream cluster in child
// processes (see clustertest.MustRunCluster).
func MustRunCluster(tb testing.TB, n int) []*clustertest.Node {
	return clustertest.MustRunCluster(tb, n)
}

// appendRecord is one Append call of the failover test.
type appendRecord struct {
	stream string
	ids    []string
	acked  bool
	got    []eventstore.Event // as returned, when acked
}

// TestClusterLeaderFailover appends 3000 times (single events and atomic
// batches of 3) from 8 goroutines to an R3 stream on a 3-node cluster and
// shuts the stream's leader down a third of the way through. Afterwards
// every acknowledged append is stored exactly once where Append said, no
// unacknowledged append is stored in part, no event is stored twice, and
// the chain verifies. It reports the longest stall: the longest time
// without any acknowledged append.
func TestClusterLeaderFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("a 3-node cluster and 3000 fsynced appends: skipped with -short")
	}
	nodes := MustRunCluster(t, 3)
	nc := MustConnect(t, clustertest.URLs(nodes), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond),
		nats.DontRandomize())
	ctx := t.Context()
	retries := &countingHandler{}
	var st *jetstream.Store
	deadline := time.Now().Add(30 * time.Second)
	for {
		var err error
		st, err = jetstream.Open(ctx, nc, jetstream.Options{Profile: jetstream.ProfileHA, SyncCheck: jetstream.SyncAlwaysConfigured, Logger: slog.New(retries),
			PublishTimeout: 2 * time.Second})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("open on the cluster: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	defer st.Close()

	const (
		goroutines = 8
		total      = 3000
		streams    = 5 // per goroutine
	)
	var (
		next        atomic.Int64 // appends started
		acked       atomic.Int64
		lastAck     atomic.Int64 // unix nanos of the last acknowledged append
		stallMu     sync.Mutex
		stall       time.Duration
		stallAt     int64
		killOnce    sync.Once
		killed      = make(chan *clustertest.Node, 1)
		restartOnce sync.Once
		restarted   = make(chan struct{})
		records     = make([][]appendRecord, goroutines)
		failures    atomic.Int64
	)
	lastAck.Store(time.Now().UnixNano())
	noteAck := func() {
		now := time.Now().UnixNano()
		prev := lastAck.Swap(now)
		if d := time.Duration(now - prev); d > 0 {
			stallMu.Lock()
			if d > stall {
				stall, stallAt = d, acked.Load()
			}
			stallMu.Unlock()
		}
		switch acked.Add(1) {
		case total / 3:
			killOnce.Do(func() { go func() { killed <- killLeader(t, nc, st.Name(), nodes) }() })
		case 2 * total / 3:
			restartOnce.Do(func() {
				go func() {
					defer close(restarted)
					if n := <-killed; n != nil {
						n.Start(t)
						killed <- n
					}
				}()
			})
		}
	}
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			versions := map[string]int64{}
			for i := 0; next.Add(1) <= total; i++ {
				stream := fmt.Sprintf("party-g%d-%d", g, i%streams)
				n := 1
				if i%4 == 3 {
					n = 3
				}
				evs := make([]eventstore.Event, n)
				rec := appendRecord{stream: stream}
				for j := range evs {
					evs[j] = testEvent("party.revised")
					rec.ids = append(rec.ids, evs[j].ID)
				}
				actx, cancel := context.WithTimeout(ctx, 45*time.Second)
				got, err := st.Append(actx, stream, versions[stream], evs)
				cancel()
				if err == nil {
					rec.acked, rec.got = true, got
					versions[stream] = got[len(got)-1].Version
					noteAck()
				} else {
					failures.Add(1)
					t.Logf("goroutine %d append %d to %s: %v", g, i, stream, err)
					// The outcome is unknown: learn the stream's version.
					for {
						evs, rerr := st.ReadStream(ctx, stream, 1)
						if rerr == nil {
							versions[stream] = int64(len(evs))
							break
						}
						if ctx.Err() != nil {
							return
						}
						time.Sleep(100 * time.Millisecond)
					}
				}
				records[g] = append(records[g], rec)
			}
		})
	}
	wg.Wait()
	<-restarted
	var leader *clustertest.Node
	select {
	case leader = <-killed:
	default:
	}
	if leader == nil {
		t.Fatal("the leader was never killed")
	}
	t.Logf("killed (SIGKILL) stream leader %s after %d acknowledged appends, restarted it after %d; %d acknowledged in all, %d failed (outcome unknown)",
		leader.Name, total/3, 2*total/3, acked.Load(), failures.Load())
	t.Logf("longest stall without an acknowledged append: %s (after %d acks); %d publishes failed or went unanswered and were checked and retried",
		stall.Round(time.Millisecond), stallAt, retries.n.Load())
	if stall > 60*time.Second {
		t.Errorf("longest stall %s, want under 60 s", stall)
	}

	// Read the whole log back from the surviving nodes.
	var all []eventstore.Event
	for after := int64(0); ; {
		page, err := st.ReadAll(ctx, after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
		after = page[len(page)-1].Position
	}
	if err := jetstream.CheckChain(all); err != nil {
		t.Errorf("chain after failover: %v", err)
	}
	byID := map[string][]eventstore.Event{}
	for _, ev := range all {
		byID[ev.ID] = append(byID[ev.ID], ev)
	}
	storedEvents := 0
	for _, recs := range records {
		for _, rec := range recs {
			present := 0
			for i, id := range rec.ids {
				copies := byID[id]
				if len(copies) > 1 {
					t.Errorf("event %s of %s stored %d times", id, rec.stream, len(copies))
				}
				if len(copies) > 0 {
					present++
					if rec.acked && (copies[0].Position != rec.got[i].Position || copies[0].Hash != rec.got[i].Hash) {
						t.Errorf("acknowledged event %s at position %d, stored at %d", id, rec.got[i].Position, copies[0].Position)
					}
				}
			}
			switch {
			case rec.acked && present != len(rec.ids):
				t.Errorf("acknowledged append to %s: %d of %d events stored", rec.stream, present, len(rec.ids))
			case !rec.acked && present != 0 && present != len(rec.ids):
				t.Errorf("unacknowledged append to %s half-applied: %d of %d events stored", rec.stream, present, len(rec.ids))
			}
			storedEvents += present
		}
	}
	if storedEvents != len(all) {
		t.Errorf("log holds %d events, the appends account for %d", len(all), storedEvents)
	}
	positions := make([]int64, len(all))
	for i, ev := range all {
		positions[i] = ev.Position
	}
	if !slices.IsSorted(positions) {
		t.Error("positions out of order")
	}
	t.Logf("%d events in %d appends verified; positions 1..%d", len(all), total, positions[len(positions)-1])
}

// killLeader kills the process of the node that leads the stream and
// returns it.
func killLeader(t *testing.T, nc *nats.Conn, stream string, nodes []*clustertest.Node) *clustertest.Node {
	n, err := clustertest.Leader(context.Background(), nc, stream, nodes)
	if err != nil {
		t.Error(err)
		return nil
	}
	n.Kill()
	return n
}

// countingHandler counts the store's warnings (failed publishes, each
// checked and retried).
type countingHandler struct{ n atomic.Int64 }

func (h *countingHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h *countingHandler) Handle(context.Context, slog.Record) error {
	h.n.Add(1)
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }
