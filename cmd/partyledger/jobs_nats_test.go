package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/reminders"
	"github.com/partyledger/partyledger/handlers/reminders/smtptest"
	"github.com/partyledger/partyledger/handlers/webhooks"
)

// hookCounter is a webhook receiver that counts deliveries per webhook-id
// and notices two deliveries in flight at once: one replica delivers a
// subscription's events one at a time, so an overlap means two replicas
// delivered for it at the same moment.
type hookCounter struct {
	*httptest.Server
	mu       sync.Mutex
	inFlight int
	overlaps int
	count    map[string]int    // webhook-id -> deliveries
	stream   map[string]string // webhook-id -> the event's stream
	mismatch int               // webhook-ids that differ from their payload's event id
}

func newHookCounter(tb testing.TB) *hookCounter {
	hc := &hookCounter{count: map[string]int{}, stream: map[string]string{}}
	hc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hc.mu.Lock()
		hc.inFlight++
		if hc.inFlight > 1 {
			hc.overlaps++
		}
		hc.mu.Unlock()
		var pl webhooks.Payload
		_ = json.NewDecoder(r.Body).Decode(&pl)
		time.Sleep(10 * time.Millisecond) // widen the window an overlap would show in
		id := r.Header.Get(webhooks.HeaderID)
		hc.mu.Lock()
		hc.inFlight--
		hc.count[id]++
		hc.stream[id] = pl.Subject
		if pl.ID != id || pl.Data.Event.ID != id {
			hc.mismatch++
		}
		hc.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	tb.Cleanup(hc.Close)
	return hc
}

// delivered returns the streams of the events delivered so far.
func (hc *hookCounter) delivered() map[string]bool {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	out := map[string]bool{}
	for _, s := range hc.stream {
		out[s] = true
	}
	return out
}

// TestJobsOnceAcrossReplicas runs three serve processes on one JetStream:
// a subscription made through A is listed on B and C; each event is
// delivered by one replica at a time (never two deliveries in flight at
// once), duplicates only with the same webhook-id; after kill -9 of the
// replica holding the subscription's lease another takes over within 30 s
// and the receiver gets every event. One replica signs checkpoints, with
// the key every replica shares, and every replica serves the same latest
// checkpoint.
func TestJobsOnceAcrossReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three serve processes")
	}
	bin := MustBuildBinary(t)
	srv := MustRunNATS(t)
	hc := newHookCounter(t)
	args := []string{"--store", "nats", "--nats-url", srv.ClientURL(), "--nats-stream", "PARTYLEDGER",
		"--nats-durability", "durable", "--nats-monitor", "http://" + srv.MonitorAddr().String(),
		"--webhook-allow", "127.0.0.1/32", "--checkpoint-every-events", "4"}
	dir := t.TempDir()
	procs := map[string]*serveProc{}
	for _, name := range []string{"a", "b", "c"} {
		procs[name] = MustStartServe(t, bin, filepath.Join(dir, name+".db"), args...)
	}
	// Each replica has its own first admin token until tokens are shared;
	// once they are, only the first start prints one, which works on all.
	token := func(name string) string {
		if tok := procs[name].Token; tok != "" {
			return tok
		}
		return procs["a"].Token
	}
	client := &http.Client{Timeout: 30 * time.Second}
	ctx := t.Context()
	api := func(name, method, path string, body, out any) int {
		t.Helper()
		st, err := call(ctx, client, procs[name].URL, token(name), method, path, body, out)
		if err != nil {
			t.Fatalf("%s %s on %s: %v", method, path, name, err)
		}
		return st
	}
	text := func(name, path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "GET", procs[name].URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token(name))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	var sub struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	if st := api("a", "POST", "/api/v1/subscriptions", map[string]any{"url": hc.URL + "/hooks",
		"filter": map[string]any{"types": []string{"party.identified"}}}, &sub); st != http.StatusCreated {
		t.Fatalf("create subscription on A: %d", st)
	}
	for _, name := range []string{"b", "c"} {
		var list struct {
			Subscriptions []struct {
				ID string `json:"id"`
			} `json:"subscriptions"`
		}
		if st := api(name, "GET", "/api/v1/subscriptions", nil, &list); st != http.StatusOK || len(list.Subscriptions) != 1 || list.Subscriptions[0].ID != sub.ID {
			t.Fatalf("subscriptions on %s: %d %+v, want the one made on A", name, st, list)
		}
	}

	want := map[string]bool{} // party streams created
	names := []string{"a", "b", "c"}
	create := func(n int, on []string) {
		for i := range n {
			var p struct {
				ID string `json:"id"`
			}
			via := on[i%len(on)]
			if st := api(via, "POST", "/api/v1/parties", map[string]any{"name": fmt.Sprintf("Supplier %d", len(want)),
				"category": "supplier", "scope": "external"}, &p); st != http.StatusCreated {
				t.Fatalf("create a party through %s: %d", via, st)
			}
			want["party-"+p.ID] = true
		}
	}
	allDelivered := func(within time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		for {
			got := hc.delivered()
			missing := 0
			for s := range want {
				if !got[s] {
					missing++
				}
			}
			if missing == 0 {
				return time.Since(start)
			}
			if time.Since(start) > within {
				t.Fatalf("%d of %d events not delivered within %v", missing, len(want), within)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	create(12, names)
	allDelivered(30 * time.Second)

	// The lease bucket names the holders: host:pid:suffix.
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := natsjs.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	leases, err := js.KeyValue(ctx, "PARTYLEDGER_leases")
	if err != nil {
		t.Fatal(err)
	}
	holderOf := func(key string) string {
		t.Helper()
		e, err := leases.Get(ctx, key)
		if err != nil {
			t.Fatalf("lease %s: %v", key, err)
		}
		parts := strings.Split(string(e.Value()), ":")
		pid, _ := strconv.Atoi(parts[len(parts)-2])
		for name, p := range procs {
			if p.cmd.Process.Pid == pid {
				return name
			}
		}
		t.Fatalf("lease %s held by %q, not one of the replicas", key, e.Value())
		return ""
	}
	holderOf(leaseBus)

	// One signer: only the holder of "checkpoints" logs signatures, and
	// every replica serves the same latest checkpoint and public key.
	signer := holderOf(leaseCheckpoints)
	waitFor := func(d time.Duration, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(d)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("not true within %v", d)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor(10*time.Second, func() bool { return strings.Contains(procs[signer].logs.String(), "signed a checkpoint") })
	for name, p := range procs {
		if name != signer && strings.Contains(p.logs.String(), "signed a checkpoint") {
			t.Errorf("replica %s signed a checkpoint while %s held the lease", name, signer)
		}
	}
	_, key := text("a", "/api/v1/audit/public-key")
	_, note := text(signer, "/api/v1/audit/checkpoint")
	for _, name := range names {
		if st, k := text(name, "/api/v1/audit/public-key"); st != http.StatusOK || k != key {
			t.Errorf("public key on %s: %d %q, want %q", name, st, k, key)
		}
		if st, n := text(name, "/api/v1/audit/checkpoint"); st != http.StatusOK || n != note {
			t.Errorf("latest checkpoint on %s: %d %q, want the signer's %q", name, st, n, note)
		}
	}

	// A replica that does not sign names the shared checkpoint in the
	// change report's footer.
	for _, name := range names {
		if name == signer {
			continue
		}
		st, md := text(name, "/api/v1/reports/changes?format=md")
		_, footer, _ := strings.Cut(md, "## Integrity")
		if st != http.StatusOK || !strings.Contains(footer, "Latest signed checkpoint:") {
			t.Errorf("report on %s (%d) names no signed checkpoint:\n%s", name, st, footer)
		}
		break
	}

	// kill -9 of the replica delivering the subscription.
	holder := holderOf(webhooks.LeasePrefix + sub.ID)
	procs[holder].Kill()
	killed := time.Now()
	var alive []string
	for _, name := range names {
		if name != holder {
			alive = append(alive, name)
		}
	}
	create(12, alive)
	allDelivered(30 * time.Second)
	took := time.Since(killed)
	if took > 30*time.Second {
		t.Errorf("events after the kill delivered %v after it, want within 30 s", took)
	}
	newHolder := holderOf(webhooks.LeasePrefix + sub.ID)
	if newHolder == holder {
		t.Errorf("the killed replica %s still holds the subscription's lease", holder)
	}
	for _, name := range alive {
		if st := api(name, "GET", "/api/v1/audit/verify", nil, nil); st != http.StatusOK {
			t.Errorf("verify on %s: %d", name, st)
		}
	}

	hc.mu.Lock()
	defer hc.mu.Unlock()
	dups := 0
	for id, n := range hc.count {
		if !want[hc.stream[id]] {
			t.Errorf("delivered %s (%s), not an event of the test", id, hc.stream[id])
		}
		dups += n - 1
	}
	if hc.mismatch > 0 {
		t.Errorf("%d deliveries whose webhook-id differs from their event id", hc.mismatch)
	}
	if hc.overlaps > 0 {
		t.Errorf("%d deliveries overlapped another one: two replicas delivered the subscription at once", hc.overlaps)
	}
	t.Logf("killed %s (holder); %s took over; every event delivered %v after the kill; %d events, %d duplicates (same webhook-id), %d overlaps; signer %s",
		holder, newHolder, took, len(want), dups, hc.overlaps, signer)
}

// TestReminderClaimAcrossReplicas runs the reminders on two replicas of
// one JetStream at the same moment: the claim of each (owner, window) in
// the log lets exactly one of them send the digest, the other reports it
// already sent. The schedule's lease only saves the second attempt; this
// is the guarantee.
func TestReminderClaimAcrossReplicas(t *testing.T) {
	ms := smtptest.MustStart(t)
	saved := reminderOpts
	reminderOpts.smtpAddr, reminderOpts.smtpTLS, reminderOpts.smtpFrom = ms.Addr, reminders.TLSNone, "partyledger@example.com"
	t.Cleanup(func() { reminderOpts = saved })
	srv := MustRunNATS(t)
	a := MustRunServe(t, filepath.Join(t.TempDir(), "a.db"), onNATS(srv))
	b := MustRunServe(t, filepath.Join(t.TempDir(), "b.db"), onNATS(srv))
	if b.Token == "" { // tokens shared: only the first start prints one
		b.Token = a.Token
	}

	var pt map[string]any
	mustStatus(t, a.do(t, "POST", "/api/v1/parties", map[string]any{"name": "Acme Bank", "category": "customer",
		"scope": "external", "owner": "Head of Sales"}, &pt), http.StatusCreated)
	yesterday := time.Now().UTC().AddDate(0, 0, -1).Format(domain.DateLayout)
	mustStatus(t, a.do(t, "POST", "/api/v1/parties/"+pt["id"].(string)+"/requirements", map[string]any{"kind": "requirement",
		"title": "Quarterly service review", "owner": "Head of Sales", "review_due": yesterday}, nil), http.StatusCreated)
	mustStatus(t, a.do(t, "PUT", "/api/v1/owners/"+url.PathEscape("Head of Sales"),
		map[string]any{"emails": []string{"sales.lead@example.com"}}, nil), http.StatusOK)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var rep reminders.Report
		mustStatus(t, b.do(t, "POST", "/api/v1/reminders/run?dry_run=true", nil, &rep), http.StatusOK)
		if len(rep.Digests) == 1 && rep.Digests[0].Status == reminders.StatusWouldSend && len(rep.Digests[0].Recipients) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B does not see the digest due: %+v", rep)
		}
		time.Sleep(50 * time.Millisecond)
	}

	var wg sync.WaitGroup
	reps := make([]reminders.Report, 2)
	for i, s := range []*testServer{a, b} {
		wg.Go(func() {
			s.do(t, "POST", "/api/v1/reminders/run", map[string]any{}, &reps[i])
		})
	}
	wg.Wait()
	statuses := map[string]int{}
	for _, r := range reps {
		for _, d := range r.Digests {
			statuses[d.Status]++
		}
	}
	if statuses[reminders.StatusSent] != 1 || len(ms.Messages()) != 1 {
		t.Fatalf("two replicas at once: statuses %v, %d messages; want one sent and one message", statuses, len(ms.Messages()))
	}
	t.Logf("two replicas at once: %v, %d message", statuses, len(ms.Messages()))
}
