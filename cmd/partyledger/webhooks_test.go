package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partyledger/partyledger/handlers/httpapi/client"
	"github.com/partyledger/partyledger/handlers/webhooks"
)

// withWebhookAllow sets serve's --webhook-allow for the test.
func withWebhookAllow(tb testing.TB, allow string) {
	old := webhookOpts
	webhookOpts.allow, webhookOpts.deliver = allow, true
	tb.Cleanup(func() { webhookOpts = old })
}

// hookReceiver is a real HTTP receiver on loopback.
type hookReceiver struct {
	*httptest.Server
	mu   sync.Mutex
	hits []receivedHook
}

type receivedHook struct {
	header  http.Header
	body    []byte
	payload webhooks.Payload
}

func newHookReceiver(tb testing.TB) *hookReceiver {
	rc := &hookReceiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h := receivedHook{header: r.Header.Clone(), body: body}
		_ = json.Unmarshal(body, &h.payload)
		rc.mu.Lock()
		rc.hits = append(rc.hits, h)
		rc.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	tb.Cleanup(rc.Close)
	return rc
}

// waitHits waits (real time, at most 10 s) until n requests arrived.
func (rc *hookReceiver) waitHits(tb testing.TB, n int) []receivedHook {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rc.mu.Lock()
		hits := append([]receivedHook(nil), rc.hits...)
		rc.mu.Unlock()
		if len(hits) >= n {
			return hits
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d webhooks arrived, want %d", len(hits), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type subscriptionResp struct {
	ID       string `json:"id"`
	URL      string `json:"url"`
	Secret   string `json:"secret"`
	Status   string `json:"status"`
	Position int64  `json:"position"`
	History  []struct {
		Kind  string `json:"kind"`
		Actor string `json:"actor"`
	} `json:"history"`
}

// TestWebhooksOverHTTP drives subscriptions through the real program: SSRF
// refusal at registration, a signed delivery to an allowlisted loopback
// receiver, the deliveries log, redelivery with the same webhook-id,
// rotation, roles and deletion.
func TestWebhooksOverHTTP(t *testing.T) {
	withWebhookAllow(t, "127.0.0.1/32")
	rc := newHookReceiver(t)
	s := MustRunServe(t, "")

	var p problem
	for _, u := range []string{"http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://2130706433/", "http://10.0.0.1/"} {
		mustStatus(t, s.do(t, "POST", "/api/v1/subscriptions", map[string]any{"url": u}, &p), http.StatusBadRequest)
		if len(p.Errors) != 1 || p.Errors[0].Field != "url" {
			t.Fatalf("%s: %+v", u, p)
		}
	}
	mustStatus(t, s.do(t, "POST", "/api/v1/subscriptions", map[string]any{"url": rc.URL, "filter": map[string]any{"colour": "red"}}, &p), http.StatusBadRequest)
	mustStatus(t, s.do(t, "POST", "/api/v1/subscriptions", map[string]any{"url": rc.URL, "secret": "mine"}, &p), http.StatusBadRequest)

	var sub subscriptionResp
	resp := s.do(t, "POST", "/api/v1/subscriptions", map[string]any{"url": rc.URL + "/hooks", "description": "DPO inbox",
		"filter": map[string]any{"types": []string{"party.identified", "party.revised"}}}, &sub)
	mustStatus(t, resp, http.StatusCreated)
	if !strings.HasPrefix(sub.Secret, "whsec_") || sub.Status != "active" || resp.Header.Get("Location") != "/api/v1/subscriptions/"+sub.ID {
		t.Fatalf("created %+v, Location %s", sub, resp.Header.Get("Location"))
	}

	// A viewer may neither list nor create subscriptions.
	var viewer struct {
		Token string `json:"token"`
	}
	mustStatus(t, s.do(t, "POST", "/api/v1/tokens", map[string]any{"name": "val", "role": "viewer"}, &viewer), http.StatusCreated)
	v := *s
	v.Token = viewer.Token
	mustStatus(t, v.do(t, "GET", "/api/v1/subscriptions", nil, nil), http.StatusForbidden)
	mustStatus(t, v.do(t, "POST", "/api/v1/subscriptions", map[string]any{"url": rc.URL}, nil), http.StatusForbidden)

	var pt party
	mustStatus(t, s.do(t, "POST", "/api/v1/parties", map[string]any{"name": "Data protection authority",
		"category": "regulator", "scope": "external"}, &pt), http.StatusCreated)
	hits := rc.waitHits(t, 1)
	h := hits[0]
	if err := webhooks.Verify(sub.Secret, h.header, h.body, time.Now(), 5*time.Minute); err != nil {
		t.Fatalf("signature: %v", err)
	}
	pl := h.payload
	if h.header.Get("webhook-id") != pl.ID || pl.Type != "party.identified" || pl.Subject != "party-"+pt.ID ||
		pl.Data.Change == nil || pl.Data.Change.Party.Name != "Data protection authority" || pl.Data.Change.Actor != "admin" {
		t.Fatalf("payload %s", h.body)
	}

	var ds struct {
		Deliveries []webhooks.Delivery `json:"deliveries"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(ds.Deliveries) == 0 && time.Now().Before(deadline) {
		mustStatus(t, s.do(t, "GET", "/api/v1/subscriptions/"+sub.ID+"/deliveries", nil, &ds), http.StatusOK)
		time.Sleep(10 * time.Millisecond)
	}
	if len(ds.Deliveries) != 1 || ds.Deliveries[0].Outcome != "delivered" || ds.Deliveries[0].StatusCode != 204 {
		t.Fatalf("deliveries %+v", ds.Deliveries)
	}

	// Redelivery sends the same event again, with the same webhook-id.
	mustStatus(t, s.do(t, "POST", "/api/v1/subscriptions/"+sub.ID+"/redeliver", map[string]any{"from_position": pl.Position}, nil), http.StatusAccepted)
	hits = rc.waitHits(t, 2)
	if hits[1].header.Get("webhook-id") != pl.ID || !bytes.Equal(hits[1].body, h.body) {
		t.Fatalf("redelivery: id %s body %s", hits[1].header.Get("webhook-id"), hits[1].body)
	}
	mustStatus(t, s.do(t, "POST", "/api/v1/subscriptions/"+sub.ID+"/redeliver", map[string]any{"from_position": 0}, &p), http.StatusBadRequest)
	for deadline := time.Now().Add(10 * time.Second); ; {
		mustStatus(t, s.do(t, "GET", "/api/v1/subscriptions/"+sub.ID+"/deliveries", nil, &ds), http.StatusOK)
		if len(ds.Deliveries) == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(ds.Deliveries) != 2 || ds.Deliveries[0].Outcome != "delivered" || ds.Deliveries[0].Position != pl.Position {
		t.Fatalf("deliveries after the redelivery: %+v", ds.Deliveries)
	}

	// After rotation both secrets verify during the grace period.
	var rot subscriptionResp
	mustStatus(t, s.do(t, "POST", "/api/v1/subscriptions/"+sub.ID+"/rotate-secret", nil, &rot), http.StatusOK)
	mustStatus(t, s.do(t, "PATCH", "/api/v1/parties/"+pt.ID, map[string]any{"influence": 5, "reason": "new fines",
		"trigger": "regulatory_change"}, nil), http.StatusOK)
	hits = rc.waitHits(t, 3)
	for _, secret := range []string{sub.Secret, rot.Secret} {
		if err := webhooks.Verify(secret, hits[2].header, hits[2].body, time.Now(), 5*time.Minute); err != nil {
			t.Fatalf("after rotation: %v", err)
		}
	}
	if c := hits[2].payload.Data.Change; c == nil || c.Trigger != "regulatory_change" || len(c.Changes) != 1 || c.Changes[0].Field != "influence" {
		t.Fatalf("revision payload %s", hits[2].body)
	}

	var got subscriptionResp
	mustStatus(t, s.do(t, "GET", "/api/v1/subscriptions/"+sub.ID, nil, &got), http.StatusOK)
	var kinds []string
	for _, r := range got.History {
		kinds = append(kinds, r.Kind+":"+r.Actor)
	}
	if got.Secret != "" || strings.Join(kinds, " ") != "created:admin redelivery:admin secret_rotated:admin" {
		t.Fatalf("GET shows secret %q, history %v", got.Secret, kinds)
	}
	mustStatus(t, s.do(t, "DELETE", "/api/v1/subscriptions/"+sub.ID, nil, nil), http.StatusNoContent)
	mustStatus(t, s.do(t, "GET", "/api/v1/subscriptions/"+sub.ID, nil, nil), http.StatusNotFound)
	mustStatus(t, s.do(t, "POST", "/api/v1/subscriptions/"+sub.ID+"/enable", nil, nil), http.StatusNotFound)
}

// sseReader reads change events from a live GET /api/v1/stream.
type sseReader struct {
	resp   *http.Response
	events chan client.Event
}

func openStream(tb testing.TB, s *testServer, query, lastID string) *sseReader {
	tb.Helper()
	req, err := http.NewRequest("GET", s.URL+"/api/v1/stream"+query, nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.Token)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("stream: status %d", resp.StatusCode)
	}
	r := &sseReader{resp: resp, events: make(chan client.Event, 100)}
	go func() {
		defer close(r.events)
		_ = client.ReadSSE(resp.Body, func(ev client.Event) error { r.events <- ev; return nil })
	}()
	tb.Cleanup(func() { resp.Body.Close() })
	return r
}

// next returns the next event, failing after 10 s.
func (r *sseReader) next(tb testing.TB) (client.Event, bool) {
	tb.Helper()
	select {
	case ev, ok := <-r.events:
		return ev, ok
	case <-time.After(10 * time.Second):
		tb.Fatal("no stream event within 10 s")
		return client.Event{}, false
	}
}

// TestStreamResumesWithoutGaps reads the live stream of a real server,
// disconnects, lets changes happen, reconnects with Last-Event-ID and gets
// exactly the changes it missed; a filter applies; and stopping the server
// ends the stream at once.
func TestStreamResumesWithoutGaps(t *testing.T) {
	s := MustRunServe(t, "")
	newParty := func(name, category string) party {
		var pt party
		mustStatus(t, s.do(t, "POST", "/api/v1/parties", map[string]any{"name": name, "category": category, "scope": "external"}, &pt), http.StatusCreated)
		return pt
	}
	revise := func(pt party, level int) {
		mustStatus(t, s.do(t, "PATCH", "/api/v1/parties/"+pt.ID, map[string]any{"influence": level, "reason": fmt.Sprint("to ", level)}, nil), http.StatusOK)
	}
	before := newParty("Before the stream", "other")
	st := openStream(t, s, "", "")
	sup := newParty("Cloud provider", "supplier")
	for _, level := range []int{1, 2, 4} {
		revise(sup, level)
	}
	var seen []int64
	for range 4 { // party_added, then three revisions
		ev, _ := st.next(t)
		seen = append(seen, atoi(t, ev.ID))
	}
	// Positions between them may hold name reservations, which are not
	// changes: the stream is gap-free relative to the change feed.
	for i := 1; i < len(seen); i++ {
		if seen[i] <= seen[i-1] {
			t.Fatalf("first stream: ids %v", seen)
		}
	}
	st.resp.Body.Close() // disconnect
	lastID := fmt.Sprint(seen[len(seen)-1])

	// Changes while disconnected, then more after reconnecting.
	revise(sup, 5)
	revise(before, 1)
	cust := newParty("Customers", "customer")
	st = openStream(t, s, "", lastID)
	revise(cust, 5)
	var ids []string
	for range 4 {
		ev, _ := st.next(t)
		var it struct {
			Position int64 `json:"position"`
		}
		if err := json.Unmarshal([]byte(ev.Data), &it); err != nil || fmt.Sprint(it.Position) != ev.ID {
			t.Fatalf("event id %s data %s", ev.ID, ev.Data)
		}
		ids = append(ids, ev.ID)
	}
	var missed changesResp
	mustStatus(t, s.do(t, "GET", "/api/v1/changes?since=position:"+lastID, nil, &missed), http.StatusOK)
	var want []string
	for _, it := range missed.Items {
		want = append(want, fmt.Sprint(it.Position))
	}
	if strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Fatalf("after resuming from %s: %v, want %v (no gaps)", lastID, ids, want)
	}

	// A filtered stream from the beginning: only suppliers.
	fs := openStream(t, s, "?after=0&categories=supplier&types=party.revised", "")
	for range 4 {
		ev, _ := fs.next(t)
		if !strings.Contains(ev.Data, `"name":"Cloud provider"`) || !strings.Contains(ev.Data, `"change":"party_revised"`) {
			t.Fatalf("filtered stream: %s", ev.Data)
		}
	}

	// Stopping the server ends open streams promptly.
	start := time.Now()
	s.stop()
	for {
		if _, ok := st.next(t); !ok {
			break
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("shutdown with an open stream took %v", d)
	}
}

func atoi(tb testing.TB, s string) int64 {
	tb.Helper()
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil {
		tb.Fatalf("not a number: %q", s)
	}
	return n
}

// TestWatchAndSubscriptionsCLI runs partyledger watch and partyledger
// subscriptions against a real server.
func TestWatchAndSubscriptionsCLI(t *testing.T) {
	withWebhookAllow(t, "127.0.0.1/32")
	rc := newHookReceiver(t)
	s := MustRunServe(t, "")
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		root := newRootCmd(&out, &errOut)
		root.SetArgs(append(args, "--url", s.URL, "--token", s.Token))
		err := root.ExecuteContext(context.Background())
		return out.String() + errOut.String(), err
	}

	out, err := run("subscriptions", "create", rc.URL+"/cli", "--description", "chat", "--type", "party.identified", "--category", "insurer,auditor")
	if err != nil || !strings.Contains(out, "secret: whsec_") {
		t.Fatalf("create: %v\n%s", err, out)
	}
	id := strings.TrimSpace(strings.TrimPrefix(strings.Split(out, "\n")[0], "id:"))
	if out, err := run("subscriptions", "create", "http://0x7f.1/"); err == nil || !strings.Contains(out+err.Error(), "url") {
		t.Fatalf("create with a bad URL: %v %s", err, out)
	}

	// watch prints each change live, one line each.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wout syncBuffer
	done := make(chan error, 1)
	var ready struct {
		Head int64 `json:"head"`
	}
	mustStatus(t, s.do(t, "GET", "/readyz", nil, &ready), http.StatusOK)
	go func() {
		root := newRootCmd(&wout, io.Discard)
		root.SetArgs([]string{"watch", "--url", s.URL, "--token", s.Token, "--category", "insurer", "--after", fmt.Sprint(ready.Head)})
		done <- root.ExecuteContext(ctx)
	}()
	var ins party
	mustStatus(t, s.do(t, "POST", "/api/v1/parties", map[string]any{"name": "Cyber insurer", "category": "insurer", "scope": "external"}, &ins), http.StatusCreated)
	mustStatus(t, s.do(t, "POST", "/api/v1/parties", map[string]any{"name": "Landlord", "category": "landlord", "scope": "external"}, nil), http.StatusCreated)
	mustStatus(t, s.do(t, "PATCH", "/api/v1/parties/"+ins.ID, map[string]any{"interest": 5, "reason": "policy renewal", "trigger": "contract_change"}, nil), http.StatusOK)
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(wout.String(), "\n") < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("watch: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(wout.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "party_added  Cyber insurer") ||
		!strings.Contains(lines[1], `party_revised  Cyber insurer: interest 3 → 5 [contract_change: policy renewal]`) ||
		strings.Contains(wout.String(), "Landlord") {
		t.Fatalf("watch printed:\n%s", wout.String())
	}

	// The subscription heard of the insurer only.
	hits := rc.waitHits(t, 1)
	time.Sleep(100 * time.Millisecond)
	if len(rc.waitHits(t, 1)) != 1 || hits[0].payload.Data.Change.Party.Name != "Cyber insurer" {
		t.Fatalf("subscription got %d hits", len(rc.waitHits(t, 1)))
	}
	out, err = run("subscriptions", "list")
	if err != nil || !strings.Contains(out, id) || !strings.Contains(out, "chat") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	out, err = run("subscriptions", "deliveries", id)
	if err != nil || !strings.Contains(out, "delivered") {
		t.Fatalf("deliveries: %v\n%s", err, out)
	}
	if out, err := run("subscriptions", "delete", id); err != nil {
		t.Fatalf("delete: %v\n%s", err, out)
	}
	if out, err := run("subscriptions", "delete", id); err == nil || !strings.Contains(err.Error(), "not_found") {
		t.Fatalf("delete again: %v\n%s", err, out)
	}
}
