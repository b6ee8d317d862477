package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"github.com/partyledger/partyledger/eventstore/sqlite"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/partyledger/partyledger/handlers/httpapi"
	"github.com/partyledger/partyledger/handlers/httpapi/openapitest"
)

// TestMomentFlags is the table of the one time parser: every form, where
// it is allowed and where not, with the one error message.
func TestMomentFlags(t *testing.T) {
	day := time.Date(2026, 3, 12, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		flag, in string
		forms    momentForms
		end      bool
		want     moment
		wantErr  string
		window   string
	}{
		{"--as-of", "2026-03-12", asOfForms, true, moment{kind: momentTime, time: day.AddDate(0, 0, 1).Add(-time.Nanosecond)}, "", "time:2026-03-12T23:59:59.999999999Z"},
		{"--from", "2026-03-12", timeForms, false, moment{kind: momentTime, time: day}, "", "time:2026-03-12T00:00:00Z"},
		{"--to", "2026-03-12T09:30:00+01:00", timeForms, true, moment{kind: momentTime, time: day.Add(8*time.Hour + 30*time.Minute)}, "", ""},
		{"--since", "time:2026-03-12T00:00:00Z", sinceForms, false, moment{kind: momentTime, time: day}, "", "time:2026-03-12T00:00:00Z"},
		{"--as-of", "position:42", asOfForms, true, moment{kind: momentPosition, position: 42}, "", "position:42"},
		{"--since", "review:0193abc", sinceForms, false, moment{kind: momentReview, review: "0193abc"}, "", "review:0193abc"},
		{"--since", "last-review", sinceForms, false, moment{kind: momentLastReview}, "", "last-review"},
		{"--since", "beginning", sinceForms, false, moment{kind: momentBeginning}, "", "beginning"},
		{"--until", "now", untilForms, true, moment{kind: momentNow}, "", "now"},
		{"--as-of", "yesterday", asOfForms, true, moment{}, `--as-of "yesterday": want a date (2026-03-12), an RFC 3339 time (2026-03-12T09:00:00Z) or position:<n>`, ""},
		{"--from", "position:3", timeForms, false, moment{}, `--from "position:3": want a date (2026-03-12) or an RFC 3339 time (2026-03-12T09:00:00Z)`, ""},
		{"--as-of", "position:-1", asOfForms, true, moment{}, `--as-of "position:-1": want a date (2026-03-12), an RFC 3339 time (2026-03-12T09:00:00Z) or position:<n>`, ""},
		{"--as-of", "last-review", asOfForms, true, moment{}, `--as-of "last-review": want`, ""},
		{"--until", "last-review", untilForms, true, moment{}, `--until "last-review": want a date (2026-03-12), an RFC 3339 time (2026-03-12T09:00:00Z), position:<n>, review:<id> or now`, ""},
		{"--since", "review:", sinceForms, false, moment{}, `--since "review:": want a date (2026-03-12), an RFC 3339 time (2026-03-12T09:00:00Z), position:<n>, review:<id>, last-review or beginning`, ""},
		{"--from", "2026-02-30", timeForms, false, moment{}, `--from "2026-02-30": want`, ""},
	} {
		got, err := parseMoment(tc.flag, tc.in, tc.forms, tc.end)
		if tc.wantErr != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Errorf("%s %q: error %v, want %q", tc.flag, tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got.kind != tc.want.kind || !got.time.Equal(tc.want.time) || got.position != tc.want.position || got.review != tc.want.review {
			t.Errorf("%s %q: got %+v, %v; want %+v", tc.flag, tc.in, got, err, tc.want)
		}
		if tc.window != "" && got.window() != tc.window {
			t.Errorf("%s %q: window %q, want %q", tc.flag, tc.in, got.window(), tc.window)
		}
	}
}

// TestFormatFlags is the table of --format and --output.
func TestFormatFlags(t *testing.T) {
	var notTTY bytes.Buffer
	for _, tc := range []struct {
		format, output, want, wantErr string
	}{
		{"", "", "json", ""}, // not a terminal
		{"table", "", "table", ""},
		{"jsonl", "", "jsonl", ""},
		{"csv", "x.json", "csv", ""}, // the flag wins
		{"", "out.csv", "csv", ""},
		{"", "OUT.JSONL", "jsonl", ""},
		{"", "out.json", "json", ""},
		{"", "out.txt", "table", ""},
		{"xml", "", "", `--format "xml": want table, json, jsonl or csv`},
		{"", "out.xlsx", "", `--output "out.xlsx": unknown extension ".xlsx"; use .txt, .json, .jsonl or .csv, or give --format`},
		{"", "noext", "", `--output "noext": unknown extension ""`},
	} {
		got, err := outputFlags{format: tc.format, output: tc.output}.resolve(&notTTY)
		if tc.wantErr != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Errorf("--format %q --output %q: error %v, want %q", tc.format, tc.output, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("--format %q --output %q: %q, %v; want %q", tc.format, tc.output, got, err, tc.want)
		}
	}
}

// TestRecordsCLI drives the write and list commands against the real
// server, every exchange validated against the OpenAPI document: parties
// by name, --url as the API root, the list formats and --output.
func TestRecordsCLI(t *testing.T) {
	s := MustRunServe(t, "")
	apiTransport = openapitest.MustLoad(t, httpapi.OpenAPI()).Transport(t, nil)
	t.Cleanup(func() { apiTransport = nil })
	dir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		out, code := runCLI(t, append(args, "--url", s.URL+"/api/v1/", "--token", s.Token)...)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s", strings.Join(args, " "), code, out)
		}
		return out
	}
	var p struct {
		ID, Name, Owner string
		Influence       int
		Version         int
		ParentID        *string `json:"parent_id"`
	}
	must := func(out string, v any) {
		t.Helper()
		if err := json.Unmarshal([]byte(out), v); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
	must(run("parties", "add", "--name", "Customers", "--category", "customer", "--scope", "external", "--trigger", "periodic_review"), &p)
	cust := p.ID
	must(run("parties", "add", "--name", "Key accounts", "--category", "customer", "--scope", "external", "--parent-id", "customers"), &p)
	if p.ParentID == nil || *p.ParentID != cust {
		t.Fatalf("--parent-id by name: %+v", p)
	}
	must(run("parties", "revise", "Customers", "--influence", "5", "--reason", "bigger accounts", "--trigger", "risk_assessment"), &p)
	if p.ID != cust || p.Influence != 5 {
		t.Fatalf("revise by name: %+v", p)
	}
	var r struct{ ID, Title string }
	must(run("requirements", "add", "Customers", "--kind", "requirement", "--title", "Protect personal data",
		"--source_type", "law", "--source-ref", "GDPR Art. 32", "--trigger", "regulatory_change"), &r)
	var dec struct{ Addressed *bool }
	must(run("requirements", "decide", "Customers", r.ID, "--addressed", "true", "--controls", "A.8.24,A.5.34", "--reason", "risk treatment"), &dec)
	if dec.Addressed == nil || !*dec.Addressed {
		t.Fatalf("decide: %+v", dec)
	}
	run("reviews", "hold", "--held-on", "2026-03-12", "--title", "Q1", "--attendees", "CEO,CISO", "--trigger", "management_review")
	// --if-match with the version last seen (as a number or as the ETag).
	must(run("parties", "show", "Customers"), &p)
	seen := p.Version
	must(run("parties", "revise", "Customers", "--owner", "Head of Sales", "--reason", "reorganised", "--if-match", `"`+strconv.Itoa(seen)+`"`), &p)
	if p.Owner != "Head of Sales" || p.Version != seen+1 {
		t.Fatalf("revise --if-match %d: %+v", seen, p)
	}

	// One list, four formats, to a file chosen by extension.
	run("parties", "list", "--output", filepath.Join(dir, "p.csv"))
	f, _ := os.ReadFile(filepath.Join(dir, "p.csv"))
	rows, err := csv.NewReader(bytes.NewReader(f)).ReadAll()
	if err != nil || len(rows) != 3 || rows[0][1] != "name" {
		t.Fatalf("csv: %v\n%s", err, f)
	}
	if out := run("parties", "list", "--format", "jsonl"); strings.Count(out, "\n") != 2 || !strings.HasPrefix(out, `{"id":`) {
		t.Fatalf("jsonl:\n%s", out)
	}
	if out := run("parties", "list", "--format", "table"); !strings.HasPrefix(out, "ID ") || !strings.Contains(out, "Key accounts") {
		t.Fatalf("table:\n%s", out)
	}
	var reqs struct{ Requirements []struct{ Title string } }
	must(run("requirements", "list", "customers", "--format", "json"), &reqs)
	if len(reqs.Requirements) != 1 || reqs.Requirements[0].Title != "Protect personal data" {
		t.Fatalf("requirements list: %+v", reqs)
	}
	if out := run("reviews", "list", "--format", "csv"); !strings.Contains(out, "Q1") {
		t.Fatalf("reviews list:\n%s", out)
	}

	// Bad input: refused with the one message, nothing written.
	before := eventCount(t, s.DB)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"parties", "list", "--output", "p.xlsx"}, `unknown extension ".xlsx"`},
		{[]string{"parties", "revise", "Nobody", "--reason", "x"}, `no party has the id or name "Nobody"`},
		{[]string{"parties", "add", "--name", "X", "--category", "alien", "--scope", "external"}, "400 invalid"},
		{[]string{"parties", "revise", "Customers", "--influence", "lots", "--reason", "x"}, `--influence "lots": want a whole number`},
		{[]string{"parties", "retire", "Customers"}, `required flag(s) "reason" not set`},
		{[]string{"parties", "retire", "Customers", "--reason", "x", "--if-match", strconv.Itoa(seen)}, "412 precondition_failed"},
		{[]string{"requirements", "retire", "Customers", r.ID, "--reason", "x", "--if-match", "1"}, "412 precondition_failed"},
		{[]string{"parties", "revise", "Customers", "--owner", "x", "--reason", "x", "--if-match", "latest"}, `--if-match "latest": want the version (ETag) last seen, such as 3`},
	} {
		out, code := runCLI(t, append(tc.args, "--url", s.URL, "--token", s.Token)...)
		if code == 0 || !strings.Contains(out, tc.want) {
			t.Errorf("%s: exit %d, want an error with %q:\n%s", strings.Join(tc.args, " "), code, tc.want, out)
		}
	}
	if after := eventCount(t, s.DB); after != before {
		t.Errorf("refused commands wrote %d events", after-before)
	}

	// A local list takes the same flags.
	if out, code := runCLI(t, "token", "list", "--db", s.DB, "--format", "csv"); code != 0 || !strings.HasPrefix(out, "name,role,created,expires,state\n") || !strings.Contains(out, ",admin,") {
		t.Errorf("token list --format csv: exit %d\n%s", code, out)
	}

	var v versionInfo
	out, _ := runCLI(t, "version", "--json")
	must(out, &v)
	if v.Go == "" || v.StoreSchema != sqlite.SchemaVersion() || v.Module == "" {
		t.Errorf("version: %+v", v)
	}
}
