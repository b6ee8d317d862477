package webhooks_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/handlers/webhooks"
)

// BenchmarkDelivery measures how fast one subscription delivers events to a
// loopback receiver, each delivery confirmed by a durable write of the
// subscription's position (synchronous=FULL), against the raw rate of the
// same signed POSTs sent in a loop on the same kind of client in the same
// run (x-raw = events/s divided by raw-events/s).
func BenchmarkDelivery(b *testing.B) {
	var got atomic.Int64
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rc.Close()
	e := MustOpenEnv(b, "")
	ctx := context.Background()

	// The baseline: signed POSTs of a payload of the same size, one at a time.
	secret, _ := webhooks.NewSecret()
	ev := eventstore.Event{ID: uuid.NewString(), Stream: "bench-1", Type: "bench.tick", Schema: 1,
		Time: time.Now().UTC(), Data: []byte(`{"n":0}`), Position: 1}
	body, _ := webhooks.NewPayload(ev, nil).Marshal()
	client := webhooks.Client(e.guard.Transport(), webhooks.DefaultTimeout)
	rawStart := time.Now()
	for i := range b.N {
		id := strconv.Itoa(i)
		sig, _ := webhooks.Sign(secret, id, time.Now(), body)
		req, _ := http.NewRequestWithContext(ctx, "POST", rc.URL, bytes.NewReader(body))
		req.Header.Set(webhooks.HeaderID, id)
		req.Header.Set(webhooks.HeaderSignature, sig)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
	rawRate := float64(b.N) / time.Since(rawStart).Seconds()

	// The log holds b.N events after the subscription's position.
	e.mustCreate(b, rc.URL, webhooks.Filter{})
	for done := 0; done < b.N; {
		n := min(b.N-done, 1000)
		batch := make([]eventstore.Event, n)
		for i := range batch {
			batch[i] = eventstore.Event{ID: uuid.NewString(), Type: "bench.tick", Schema: 1,
				Time: time.Now().UTC(), Data: []byte(`{"n":` + strconv.Itoa(done+i) + `}`)}
		}
		if _, err := e.store.Append(ctx, "bench-1", eventstore.AnyVersion, batch); err != nil {
			b.Fatal(err)
		}
		done += n
	}
	got.Store(0)
	b.ResetTimer()
	start := time.Now()
	d := &webhooks.Dispatcher{Subs: e.subs, Feed: e.feed, Guard: e.guard}
	stop := runDispatcher(b, d)
	for got.Load() < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	stop()
	rate := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(rate, "events/s")
	b.ReportMetric(rawRate, "raw-events/s")
	b.ReportMetric(rate/rawRate, "x-raw")
}
