package jetstream_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/eventstore/jetstream"
)

// The benchmarks compare Store.Append with a raw baseline measured in the
// same run against the same servers: js.Publish of a message of the same
// size to a plain stream ("RAW", same storage and replicas, no headers),
// one acknowledged publish per event. Both do b.N operations, interleaved
// in chunks so that drift in disk latency affects both alike; only the
// store's chunks are timed. Each reports:
//
//	events/s      the store's throughput
//	raw-events/s  the baseline's throughput
//	x-raw         events/s divided by raw-events/s
//
// Servers: R1-sync (one server, sync_interval: always), R1-default (one
// server, the default fsync every 2 minutes), R3-sync (three servers in
// child processes, sync_interval: always, an R3 stream).
//
// Run: go test -run '^$' -bench . -benchtime=2s -count=3 ./eventstore/jetstream/

const benchConcurrency = 64

func BenchmarkAppend(b *testing.B) {
	for _, srv := range []struct {
		name string
		urls func(b *testing.B) (string, int)
	}{
		{"R1-sync", func(b *testing.B) (string, int) { return MustRunServer(b).ClientURL(), 1 }},
		{"R1-default", func(b *testing.B) (string, int) { return MustRunFastServer(b).ClientURL(), 1 }},
		{"R3-sync", func(b *testing.B) (string, int) {
			var urls []string
			for _, n := range MustRunCluster(b, 3) {
				urls = append(urls, n.URL)
			}
			return strings.Join(urls, ","), 3
		}},
	} {
		b.Run(srv.name, func(b *testing.B) {
			url, replicas := srv.urls(b)
			b.Run("single", func(b *testing.B) { benchSingle(b, url, replicas) })
			b.Run("concurrent64", func(b *testing.B) { benchConcurrent(b, url, replicas) })
			b.Run("batch10", func(b *testing.B) { benchBatch(b, url, replicas) })
		})
	}
}

// benchEnv is a store and a raw stream on the same servers.
type benchEnv struct {
	st   *jetstream.Store
	js   natsjs.JetStream
	body []byte // a raw message as big as an event record
	seq  atomic.Int64
}

var benchSeq atomic.Int64

func newBenchEnv(b *testing.B, url string, replicas int) *benchEnv {
	b.Helper()
	nc := MustConnect(b, url, nats.MaxReconnects(-1))
	n := benchSeq.Add(1)
	var st *jetstream.Store
	var err error
	for range 100 { // a new cluster may need a moment for its meta leader
		st, err = jetstream.Open(b.Context(), nc, jetstream.Options{Stream: fmt.Sprintf("B%d", n), SubjectPrefix: fmt.Sprintf("b%d.events", n),
			Replicas: replicas, Profile: jetstream.ProfileDev})
		if err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	js, _ := natsjs.New(nc)
	if _, err := js.CreateStream(b.Context(), natsjs.StreamConfig{Name: fmt.Sprintf("RAW%d", n), Subjects: []string{fmt.Sprintf("raw%d.>", n)},
		Storage: natsjs.FileStorage, Replicas: replicas}); err != nil {
		b.Fatal(err)
	}
	ev := benchEvents(1)[0]
	ev.Stream, ev.Version, ev.Hash, ev.PrevHash = "party-x", 1, strings.Repeat("a", 64), strings.Repeat("b", 64)
	body, _ := json.Marshal(ev)
	e := &benchEnv{st: st, js: js, body: body}
	// Warm up: both streams have a leader and have taken a write.
	ctx, cancel := context.WithTimeout(b.Context(), time.Minute)
	defer cancel()
	if _, err := st.Append(ctx, "party-warmup", eventstore.AnyVersion, benchEvents(2)); err != nil {
		b.Fatal(err)
	}
	if err := e.rawPublish(ctx, fmt.Sprintf("raw%d.warmup", n)); err != nil {
		b.Fatal(err)
	}
	return e
}

func (e *benchEnv) rawPublish(ctx context.Context, subject string) error {
	_, err := e.js.Publish(ctx, subject, e.body)
	return err
}

// interleave runs raw(lo, hi) and store(lo, hi) alternately over [0, n) in
// chunks, timing only store, and returns the time raw took.
func interleave(b *testing.B, n, chunk int, raw, store func(lo, hi int)) (rawElapsed time.Duration) {
	b.StopTimer()
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		t0 := time.Now()
		raw(lo, hi)
		rawElapsed += time.Since(t0)
		b.StartTimer()
		store(lo, hi)
		b.StopTimer()
	}
	return rawElapsed
}

// benchSingle: one goroutine, one event per Append; the raw baseline one
// js.Publish per event.
func benchSingle(b *testing.B, url string, replicas int) {
	b.StopTimer() // setting up is not timed
	e := newBenchEnv(b, url, replicas)
	evs := benchEvents(b.N)
	n := benchSeq.Load()
	rawElapsed := interleave(b, b.N, 100,
		func(lo, hi int) {
			for range hi - lo {
				if err := e.rawPublish(b.Context(), fmt.Sprintf("raw%d.x", n)); err != nil {
					b.Fatal(err)
				}
			}
		},
		func(lo, hi int) {
			for i := lo; i < hi; i++ {
				if _, err := e.st.Append(b.Context(), "party-store", int64(i), evs[i:i+1]); err != nil {
					b.Fatal(err)
				}
			}
		})
	report(b, float64(b.N), float64(b.N)/rawElapsed.Seconds())
}

// benchConcurrent: 64 goroutines, each appending one event at a time to its
// own stream; the baseline 64 goroutines publishing.
func benchConcurrent(b *testing.B, url string, replicas int) {
	b.StopTimer() // setting up is not timed
	e := newBenchEnv(b, url, replicas)
	evs := benchEvents(b.N)
	n := benchSeq.Load()
	var versions [benchConcurrency]int64
	rawElapsed := interleave(b, b.N, benchConcurrency*20,
		func(lo, hi int) {
			runConcurrent(lo, hi, func(g, i int) error {
				return e.rawPublish(b.Context(), fmt.Sprintf("raw%d.%d", n, g))
			})
		},
		func(lo, hi int) {
			runConcurrent(lo, hi, func(g, i int) error {
				_, err := e.st.Append(b.Context(), fmt.Sprintf("party-store-%d", g), versions[g], evs[i:i+1])
				versions[g]++
				return err
			})
		})
	report(b, float64(b.N), float64(b.N)/rawElapsed.Seconds())
}

// benchBatch: one goroutine, 10 events per Append (one atomic batch); the
// baseline 10 acknowledged js.Publish calls.
func benchBatch(b *testing.B, url string, replicas int) {
	b.StopTimer() // setting up is not timed
	const per = 10
	e := newBenchEnv(b, url, replicas)
	evs := benchEvents(b.N * per)
	n := benchSeq.Load()
	rawElapsed := interleave(b, b.N, 20,
		func(lo, hi int) {
			for range (hi - lo) * per {
				if err := e.rawPublish(b.Context(), fmt.Sprintf("raw%d.x", n)); err != nil {
					b.Fatal(err)
				}
			}
		},
		func(lo, hi int) {
			for i := lo; i < hi; i++ {
				if _, err := e.st.Append(b.Context(), "party-store", int64(i*per), evs[i*per:(i+1)*per]); err != nil {
					b.Fatal(err)
				}
			}
		})
	report(b, float64(b.N*per), float64(b.N*per)/rawElapsed.Seconds())
}

// runConcurrent shares operations lo..hi-1 among benchConcurrency
// goroutines; op gets the goroutine number and the operation index.
func runConcurrent(lo, hi int, op func(g, i int) error) {
	var next atomic.Int64
	next.Store(int64(lo))
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for g := range benchConcurrency {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= hi {
					return
				}
				if err := op(g, i); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := firstErr.Load(); err != nil {
		panic(err) // benchmarks cannot b.Fatal from other goroutines
	}
}

func report(b *testing.B, events, rawRate float64) {
	rate := events / b.Elapsed().Seconds()
	b.ReportMetric(rate, "events/s")
	b.ReportMetric(rawRate, "raw-events/s")
	b.ReportMetric(rate/rawRate, "x-raw")
}

// benchEvents returns n events shaped like real ones (UUIDv7 id, ~100
// bytes of data).
func benchEvents(n int) []eventstore.Event {
	evs := make([]eventstore.Event, n)
	now := time.Now().UTC()
	for i := range evs {
		evs[i] = eventstore.Event{ID: uuid.Must(uuid.NewV7()).String(), Type: "party.revised", Schema: 1, Time: now,
			Actor: "alice", Reason: "quarterly review", Trigger: "periodic_review", CorrelationID: "c", CausationID: "",
			Data: json.RawMessage(fmt.Sprintf(`{"changes":{"influence":{"from":3,"to":4}},"party_id":"0193f2c4-%08d"}`, i))}
	}
	return evs
}
