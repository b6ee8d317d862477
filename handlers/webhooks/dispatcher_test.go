package webhooks_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/partyledger/partyledger/handlers/webhooks"
)

// gaps returns the times between consecutive hits, from their
// webhook-timestamp headers (fake-clock seconds).
func gaps(tb testing.TB, hits []hit) []time.Duration {
	var out []time.Duration
	for i := 1; i < len(hits); i++ {
		out = append(out, unixTime(tb, hits[i].Timestamp).Sub(unixTime(tb, hits[i-1].Timestamp)))
	}
	return out
}

// nearly reports whether got is want with the ±10 % jitter (and the one
// second resolution of webhook-timestamp).
func nearly(got, want time.Duration) bool {
	slack := time.Duration(float64(want)*webhooks.Jitter) + time.Second
	return got >= want-slack && got <= want+slack
}

// TestRetryScheduleFakeClock runs the whole retry schedule against a
// receiver that always fails, on the fake clock of a synctest bubble: the
// attempts come at 0, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h apart
// (±10 %), then the subscription is disabled and a record says why.
func TestRetryScheduleFakeClock(t *testing.T) {
	rc := newReceiver(t)
	rc.setRespond(func(hit, http.ResponseWriter) int { return http.StatusInternalServerError })
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		e := MustOpenEnv(t, "")
		sub, secret := e.mustCreate(t, rc.URL+"/hook", webhooks.Filter{})
		runDispatcher(t, e.dispatcher())
		e.newParty(t, "Customers", "customer")

		time.Sleep(22 * time.Hour) // the 8th attempt is due after 27 h 35 min 5 s ±10 %
		synctest.Wait()
		if n := len(rc.got()); n != 7 {
			t.Fatalf("after 22 h: %d attempts, want 7", n)
		}
		time.Sleep(10 * time.Hour)
		synctest.Wait()

		hits := rc.got()
		if len(hits) != 1+len(webhooks.DefaultSchedule) {
			t.Fatalf("%d attempts, want %d", len(hits), 1+len(webhooks.DefaultSchedule))
		}
		spec := []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour,
			5 * time.Hour, 10 * time.Hour, 10 * time.Hour}
		for i, g := range gaps(t, hits) {
			if want := spec[i]; !nearly(g, want) {
				t.Errorf("wait before retry %d = %v, want %v ±10%%", i+1, g, want)
			}
		}
		for i, h := range hits {
			if h.ID != hits[0].ID || h.Payload.Position != hits[0].Payload.Position {
				t.Errorf("attempt %d: webhook-id %s position %d, want %s %d", i+1, h.ID, h.Payload.Position, hits[0].ID, hits[0].Payload.Position)
			}
			if err := webhooks.Verify(secret, header(h), h.Body, time.Time{}, 0); err != nil {
				t.Errorf("attempt %d: %v", i+1, err)
			}
		}

		got := must[webhooks.Subscription](t)(e.subs.Get(ctx, sub.ID))
		if got.Status != webhooks.StatusDisabled || !strings.Contains(got.DisabledReason, "all 8 attempts") {
			t.Fatalf("subscription after the schedule: status %s, reason %q", got.Status, got.DisabledReason)
		}
		ds := must[[]webhooks.Delivery](t)(e.subs.Deliveries(ctx, sub.ID, 0))
		if len(ds) != 8 || ds[0].Outcome != webhooks.OutcomeExhausted || ds[0].NextRetryAt != nil ||
			ds[1].Outcome != webhooks.OutcomeFailed || ds[1].NextRetryAt == nil || ds[1].StatusCode != 500 {
			t.Fatalf("deliveries: %+v", ds)
		}
		hist := must[[]webhooks.Record](t)(e.subs.History(ctx, sub.ID))
		last := hist[len(hist)-1]
		if last.Kind != webhooks.RecordDisabled || last.Actor != webhooks.SystemActor || last.Detail != got.DisabledReason {
			t.Fatalf("last history record %+v", last)
		}

		// Enabling starts a fresh schedule with the same event. The
		// receiver recovers first: the worker may deliver as soon as
		// Enable returns.
		rc.setRespond(nil)
		if _, err := e.subs.Enable(ctx, sub.ID, "alice"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		hits = rc.got()
		if len(hits) != 9 || hits[8].ID != hits[0].ID || hits[8].Status != http.StatusOK {
			t.Fatalf("after enable: %d hits, last %+v", len(hits), hits[len(hits)-1])
		}
	})
}

func header(h hit) http.Header {
	hh := http.Header{}
	hh.Set(webhooks.HeaderID, h.ID)
	hh.Set(webhooks.HeaderTimestamp, h.Timestamp)
	hh.Set(webhooks.HeaderSignature, h.Signature)
	return hh
}

// bubbleStart is the fake clock's start in a synctest bubble.
var bubbleStart = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// TestReceiverAnswers covers the answers that are not plain failures: 410
// disables at once, 429/503 Retry-After stretches the wait, a redirect is
// a failure and is not followed.
func TestReceiverAnswers(t *testing.T) {
	cases := []struct {
		name      string
		respond   func(n int, w http.ResponseWriter) int // n: 0-based attempt
		sleep     time.Duration
		wantHits  int
		wantGap   time.Duration // between attempts 1 and 2, if any
		wantState string
	}{
		{name: "410 disables", respond: func(int, http.ResponseWriter) int { return http.StatusGone },
			sleep: time.Hour, wantHits: 1, wantState: webhooks.StatusDisabled},
		{name: "503 Retry-After longer than the schedule", respond: func(n int, w http.ResponseWriter) int {
			if n == 0 {
				w.Header().Set("Retry-After", "3600")
				return http.StatusServiceUnavailable
			}
			return http.StatusNoContent
		}, sleep: 2 * time.Hour, wantHits: 2, wantGap: time.Hour, wantState: webhooks.StatusActive},
		{name: "429 Retry-After date", respond: func(n int, w http.ResponseWriter) int {
			if n == 0 {
				// The receiver runs on the real clock; the date is on the
				// bubble's, which starts at midnight UTC 2000-01-01.
				w.Header().Set("Retry-After", bubbleStart.Add(20*time.Minute).Format(http.TimeFormat))
				return http.StatusTooManyRequests
			}
			return http.StatusOK
		}, sleep: time.Hour, wantHits: 2, wantGap: 20 * time.Minute, wantState: webhooks.StatusActive},
		{name: "Retry-After shorter than the schedule", respond: func(n int, w http.ResponseWriter) int {
			if n == 0 {
				w.Header().Set("Retry-After", "1")
				return http.StatusTooManyRequests
			}
			return http.StatusOK
		}, sleep: time.Hour, wantHits: 2, wantGap: 5 * time.Second, wantState: webhooks.StatusActive},
		{name: "redirect not followed", respond: func(n int, w http.ResponseWriter) int {
			if n == 0 {
				w.Header().Set("Location", "http://169.254.169.254/")
				return http.StatusFound
			}
			return http.StatusOK
		}, sleep: time.Hour, wantHits: 2, wantGap: 5 * time.Second, wantState: webhooks.StatusActive},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc := newReceiver(t)
			n := 0
			rc.setRespond(func(_ hit, w http.ResponseWriter) int { n++; return tc.respond(n-1, w) })
			synctest.Test(t, func(t *testing.T) {
				e := MustOpenEnv(t, "")
				sub, _ := e.mustCreate(t, rc.URL, webhooks.Filter{})
				if !time.Now().Equal(bubbleStart) {
					t.Fatalf("the bubble starts at %v", time.Now())
				}
				runDispatcher(t, e.dispatcher())
				e.newParty(t, "Regulator", "regulator")
				time.Sleep(tc.sleep)
				synctest.Wait()
				hits := rc.got()
				if len(hits) != tc.wantHits {
					t.Fatalf("%d hits, want %d", len(hits), tc.wantHits)
				}
				if tc.wantGap > 0 {
					if g := gaps(t, hits)[0]; !nearly(g, tc.wantGap) {
						t.Errorf("gap %v, want %v", g, tc.wantGap)
					}
				}
				got := must[webhooks.Subscription](t)(e.subs.Get(context.Background(), sub.ID))
				if got.Status != tc.wantState {
					t.Fatalf("status %s, want %s (reason %q)", got.Status, tc.wantState, got.DisabledReason)
				}
			})
		})
	}
}

// Issue 18, finding 11: a delivery that gets no HTTP answer is recorded
// with one generic error, whatever the cause, so the deliveries log is no
// port scanner.
func TestUnreachableReceiverErrorIsGeneric(t *testing.T) {
	e := MustOpenEnv(t, "")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/hook"
	ln.Close() // nothing listens there now: connection refused
	sub, _ := e.mustCreate(t, closed, webhooks.Filter{})
	stop := runDispatcher(t, e.dispatcher())
	defer stop()
	e.newParty(t, "Customers", "customer")
	deadline := time.Now().Add(20 * time.Second)
	for {
		ds := must[[]webhooks.Delivery](t)(e.subs.Deliveries(t.Context(), sub.ID, 0))
		if len(ds) > 0 {
			if ds[0].Error != webhooks.ErrUnreachable || strings.Contains(ds[0].Error, "refused") {
				t.Fatalf("recorded error %q, want %q", ds[0].Error, webhooks.ErrUnreachable)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no delivery attempt recorded")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
