package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestEffectiveDates: effective_on on the command bodies (bad and future
// dates refused, nothing written), the register as_of on both axes, the
// feed and the audit trail showing both dates, and the chain verifying
// with the new envelope field, through the API and the CLI.
func TestEffectiveDates(t *testing.T) {
	s := MustRunServe(t, "", noLimits)
	today := time.Now().UTC()
	day := func(d int) string { return today.AddDate(0, 0, d).Format(time.DateOnly) }

	type problem struct {
		Code   string `json:"code"`
		Fields []struct {
			Field string `json:"field"`
		} `json:"errors"`
	}
	for _, bad := range []string{`"` + day(1) + `"`, `"2026-02-30"`, `"31/01/2026"`, `20260101`} {
		var p problem
		resp := s.do(t, "POST", "/api/v1/parties",
			`{"name":"Acme","category":"customer","scope":"external","effective_on":`+bad+`}`, &p)
		mustStatus(t, resp, http.StatusBadRequest)
		if len(p.Fields) != 1 || p.Fields[0].Field != "effective_on" {
			t.Errorf("effective_on %s: problem %+v, want one naming effective_on", bad, p)
		}
	}
	if n := eventCount(t, s.DB); n != 0 {
		t.Fatalf("refused requests wrote %d events", n)
	}

	var acme struct {
		ID string `json:"id"`
	}
	mustStatus(t, s.do(t, "POST", "/api/v1/parties",
		`{"name":"Acme","category":"customer","scope":"external","effective_on":"`+day(-60)+`"}`, &acme), http.StatusCreated)
	mustStatus(t, s.do(t, "PATCH", "/api/v1/parties/"+acme.ID,
		`{"name":"Acme plc","reason":"renamed","effective_on":"`+day(-30)+`"}`, nil), http.StatusOK)
	mustStatus(t, s.do(t, "POST", "/api/v1/parties", `{"name":"Beta","category":"supplier","scope":"external"}`, nil), http.StatusCreated)
	// A revision that changes nothing still refuses a future date.
	mustStatus(t, s.do(t, "PATCH", "/api/v1/parties/"+acme.ID,
		`{"name":"Acme plc","reason":"same","effective_on":"`+day(2)+`"}`, nil), http.StatusBadRequest)

	end := func(d int) string {
		return url.QueryEscape(today.AddDate(0, 0, d).Truncate(24 * time.Hour).Add(24*time.Hour - time.Second).Format(time.RFC3339))
	}
	names := func(query string) string {
		t.Helper()
		var reg struct {
			Parties []struct {
				Name string `json:"name"`
			} `json:"parties"`
		}
		mustStatus(t, s.do(t, "GET", "/api/v1/register?"+query, nil, &reg), http.StatusOK)
		var out []string
		for _, p := range reg.Parties {
			out = append(out, p.Name)
		}
		return strings.Join(out, ",")
	}
	for _, tt := range []struct{ query, want string }{
		{"as_of=" + end(-45), ""},
		{"as_of=" + end(-45) + "&axis=recorded", ""},
		{"as_of=" + end(-45) + "&axis=effective", "Acme"},
		{"as_of=" + end(-61) + "&axis=effective", ""},
		{"as_of=" + end(-30) + "&axis=effective", "Acme plc"},
		{"as_of=" + end(-1) + "&axis=effective", "Acme plc"},
		{"as_of=" + end(0) + "&axis=effective", "Acme plc,Beta"},
		{"as_of=" + end(0), "Acme plc,Beta"},
	} {
		if got := names(tt.query); got != tt.want {
			t.Errorf("register?%s: %q, want %q", tt.query, got, tt.want)
		}
	}
	var party struct {
		Name string `json:"name"`
	}
	mustStatus(t, s.do(t, "GET", "/api/v1/parties/"+acme.ID+"?as_of="+end(-45)+"&axis=effective", nil, &party), http.StatusOK)
	if party.Name != "Acme" {
		t.Errorf("party as of %s on the effective axis: %q, want Acme", day(-45), party.Name)
	}
	mustStatus(t, s.do(t, "GET", "/api/v1/parties/"+acme.ID+"?as_of="+end(-45), nil, nil), http.StatusNotFound)
	mustStatus(t, s.do(t, "GET", "/api/v1/register?as_of=position:1&axis=effective", nil, nil), http.StatusBadRequest)
	mustStatus(t, s.do(t, "GET", "/api/v1/register?as_of="+end(0)+"&axis=valid", nil, nil), http.StatusBadRequest)

	// The feed (recorded axis) shows the effective date beside each change.
	var feed struct {
		Items []struct {
			Type        string    `json:"type"`
			Time        time.Time `json:"time"`
			EffectiveOn string    `json:"effective_on"`
			Party       struct {
				Name string `json:"name"`
			} `json:"party"`
		} `json:"items"`
	}
	mustStatus(t, s.do(t, "GET", "/api/v1/changes?since=beginning", nil, &feed), http.StatusOK)
	var got []string
	for _, it := range feed.Items {
		got = append(got, it.Party.Name+" "+it.EffectiveOn)
		if it.Time.UTC().Format(time.DateOnly) != day(0) {
			t.Errorf("feed item %s: time %s, want recorded today", it.Type, it.Time)
		}
	}
	if want := "Acme " + day(-60) + ",Acme plc " + day(-30) + ",Beta " + day(0); strings.Join(got, ",") != want {
		t.Errorf("feed effective dates: %q, want %q", strings.Join(got, ","), want)
	}

	// The audit trail carries effective_on in the envelope, and verifies.
	auditor := s.as(s.mustToken(t, "audrey", "auditor"))
	var evs struct {
		Events []struct {
			Type        string `json:"type"`
			EffectiveOn string `json:"effective_on"`
		} `json:"events"`
	}
	mustStatus(t, auditor.do(t, "GET", "/api/v1/events", nil, &evs), http.StatusOK)
	dated := 0
	for _, ev := range evs.Events {
		if ev.EffectiveOn != "" {
			dated++
		}
	}
	if dated < 2 {
		t.Errorf("events with effective_on: %d, want the identification and the rename (%+v)", dated, evs.Events)
	}
	var res struct {
		OK bool `json:"ok"`
	}
	mustStatus(t, auditor.do(t, "GET", "/api/v1/audit/verify", nil, &res), http.StatusOK)
	if !res.OK {
		t.Fatal("the chain with effective_on does not verify")
	}

	s.stop()
	out, code := runCLI(t, "register", "--db", s.DB, "--as-of", day(-45), "--axis", "effective", "--format", "csv")
	if code != 0 || !strings.Contains(out, "Acme") || strings.Contains(out, "Acme plc") || strings.Contains(out, "Beta") {
		t.Errorf("register --axis effective: exit %d:\n%s", code, out)
	}
	out, code = runCLI(t, "register", "--db", s.DB, "--as-of", day(-45), "--format", "csv")
	if code != 0 || strings.Contains(out, "Acme") {
		t.Errorf("register --as-of on the recorded axis: exit %d:\n%s", code, out)
	}
	if out, code = runCLI(t, "verify", "--db", s.DB); code != 0 || !strings.HasPrefix(out, "OK: ") {
		t.Errorf("verify: exit %d: %s", code, out)
	}
}

// TestConsoleEffectiveDate: the console's party form takes an optional
// effective date; a future one is refused on the form, naming the field.
func TestConsoleEffectiveDate(t *testing.T) {
	ts := MustRunServe(t, "")
	c := consoleClient(t)
	MustSignIn(t, c, ts.URL, ts.Token)
	post := func(form url.Values) (*http.Response, string) {
		return consoleDo(t, c, "POST", ts.URL+"/parties", form, "Sec-Fetch-Site", "same-origin", "Origin", ts.URL)
	}
	_, page := consoleDo(t, c, "GET", ts.URL+"/parties/new", nil)
	if !strings.Contains(page, `name="effective_on"`) {
		t.Fatal("the party form has no effective date field")
	}
	form := url.Values{"name": {"Insurer B"}, "category": {"insurer"}, "scope": {"external"},
		"influence": {"4"}, "interest": {"2"}, "reason": {"Cyber policy"}, "trigger": {"contract_change"}}
	form.Set("effective_on", time.Now().UTC().AddDate(0, 0, 3).Format(time.DateOnly))
	resp, body := post(form)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="effective_on"`) ||
		!strings.Contains(body, "in the future") {
		t.Fatalf("future effective date: %d", resp.StatusCode)
	}
	if n := eventCount(t, ts.DB); n != 0 {
		t.Fatalf("a refused form wrote %d events", n)
	}
	past := time.Now().UTC().AddDate(0, 0, -30).Format(time.DateOnly)
	form.Set("effective_on", past)
	if resp, _ := post(form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add party with an effective date: %d", resp.StatusCode)
	}
	var feed struct {
		Items []struct {
			EffectiveOn string `json:"effective_on"`
		} `json:"items"`
	}
	mustStatus(t, ts.do(t, "GET", "/api/v1/changes?since=beginning", nil, &feed), http.StatusOK)
	if len(feed.Items) != 1 || feed.Items[0].EffectiveOn != past {
		t.Fatalf("feed after the console write: %+v", feed.Items)
	}
}
