package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/partyledger/partyledger/handlers/httpapi"
	"github.com/partyledger/partyledger/handlers/httpapi/client"
	"github.com/partyledger/partyledger/handlers/httpapi/openapitest"
	"github.com/partyledger/partyledger/handlers/importer/importtest"
)

// importTestdata is the importer's realistic test files.
var importTestdata = filepath.Join("..", "..", "handlers", "importer", "testdata")

// MustImportClient returns a typed client of s whose every exchange is
// validated against the OpenAPI document.
func MustImportClient(tb testing.TB, s *testServer) *client.Client {
	tb.Helper()
	cl, err := client.New(s.URL, s.Token)
	if err != nil {
		tb.Fatal(err)
	}
	cl.HTTP = s.Client
	return cl
}

func mustReadFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// editCell returns the workbook with one cell of sheet set to value.
func editCell(tb testing.TB, data []byte, sheet, cell string, value any) []byte {
	tb.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if err := f.SetCellValue(sheet, cell, value); err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// TestImportConsultantXLSX imports the consultant workbook through the
// real server: a dry run writes nothing, the import writes the plan's
// events with the token as actor, a re-import writes 0 events and one
// changed cell writes exactly one revision.
func TestImportConsultantXLSX(t *testing.T) {
	s := MustRunServe(t, "")
	cl := MustImportClient(t, s)
	ctx := context.Background()
	file := mustReadFile(t, filepath.Join(importTestdata, "consultant.xlsx"))
	req := client.ImportRequest{Filename: "consultant.xlsx", File: file, DryRun: true}

	dry, err := cl.Import(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !dry.DryRun || dry.Parties.Added != 5 || dry.Requirements.Added != 8 || len(dry.Items) != 13 {
		t.Fatalf("dry run plan %+v", dry)
	}
	if n := eventCount(t, s.DB); n != 0 {
		t.Fatalf("the dry run wrote %d events", n)
	}

	req.DryRun = false
	p, err := cl.Import(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if p.DryRun || p.Parties.Added != 5 || p.Requirements.Added != 8 {
		t.Fatalf("plan %+v", p)
	}
	if n := registerEventCount(t, s.DB); n != 13 {
		t.Fatalf("%d register events after the import, want 13", n)
	}
	// Every event is attributed to the token, with the default reason and
	// trigger, and one correlation id shared by the import.
	db := openDBForTest(t, s.DB)
	var actors, reasons, triggers, corrs int
	if err := db.QueryRow(`SELECT COUNT(DISTINCT actor), COUNT(DISTINCT reason), COUNT(DISTINCT trigger),
		COUNT(DISTINCT correlation_id) FROM events`).Scan(&actors, &reasons, &triggers, &corrs); err != nil {
		t.Fatal(err)
	}
	var actor, reason, trigger string
	if err := db.QueryRow(`SELECT actor, reason, trigger FROM events LIMIT 1`).Scan(&actor, &reason, &trigger); err != nil {
		t.Fatal(err)
	}
	if actors != 1 || reasons != 1 || triggers != 1 || corrs != 1 || actor != "admin" ||
		reason != "import of consultant.xlsx" || trigger != "other" {
		t.Errorf("envelopes: %d actors (%q), %d reasons (%q), %d triggers (%q), %d correlation ids",
			actors, actor, reasons, reason, triggers, trigger, corrs)
	}
	// The register shows the import.
	var reg struct{ Parties []client.Party }
	mustStatus(t, s.do(t, "GET", "/api/v1/register", nil, &reg), http.StatusOK)
	if len(reg.Parties) != 5 {
		t.Fatalf("register has %d parties, want 5", len(reg.Parties))
	}

	before := eventCount(t, s.DB)
	again, err := cl.Import(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if again.Parties != (client.ImportCounts{Unchanged: 5}) || again.Requirements != (client.ImportCounts{Unchanged: 8}) || len(again.Items) != 0 {
		t.Errorf("re-import plan %+v", again)
	}
	if n := eventCount(t, s.DB); n != before {
		t.Fatalf("re-import wrote %d events, want 0", n-before)
	}

	req.File = editCell(t, file, "Register", "M8", "High")
	one, err := cl.Import(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if n := eventCount(t, s.DB); n != before+1 {
		t.Fatalf("one changed cell wrote %d events, want 1", n-before)
	}
	if len(one.Items) != 1 || one.Items[0].Action != "revise_requirement" || string(one.Items[0].Changes["priority"]) != `{"from":"medium","to":"high"}` {
		t.Errorf("one changed cell: items %+v", one.Items)
	}
	var typ string
	if err := db.QueryRow(`SELECT type FROM events ORDER BY position DESC LIMIT 1`).Scan(&typ); err != nil || typ != "requirement.revised" {
		t.Errorf("last event %q, %v; want requirement.revised", typ, err)
	}
}

// TestImportErrorsWriteNothing: a file with errors is answered 422 with
// the plan, each error with its cell, and nothing is written; so is a
// dry run of it. An upload above the limit is 413; a body that is not a
// form is 415.
func TestImportErrorsWriteNothing(t *testing.T) {
	s := MustRunServe(t, "")
	cl := MustImportClient(t, s)
	ctx := context.Background()
	file := mustReadFile(t, filepath.Join(importTestdata, "errors.xlsx"))
	for _, dry := range []bool{false, true} {
		p, err := cl.Import(ctx, client.ImportRequest{Filename: "errors.xlsx", File: file, DryRun: dry})
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != http.StatusUnprocessableEntity || p == nil {
			t.Fatalf("dry_run=%v: %v, plan %v; want 422 with the plan", dry, err, p)
		}
		if len(p.Errors) == 0 || p.Errors[0].Cell == "" || p.Errors[0].Message == "" {
			t.Errorf("errors %+v, want each with its cell", p.Errors)
		}
		if n := eventCount(t, s.DB); n != 0 {
			t.Fatalf("a file with errors wrote %d events", n)
		}
	}
	_, err := cl.Import(ctx, client.ImportRequest{Filename: "big.csv", File: bytes.Repeat([]byte("x"), httpapi.MaxImportBytes+1)})
	if !client.IsCode(err, "too_large") {
		t.Errorf("oversized upload: %v, want 413 too_large", err)
	}
	resp := s.do(t, "POST", "/api/v1/imports", map[string]string{"file": "x"}, nil)
	mustStatus(t, resp, http.StatusUnsupportedMediaType)
	if n := eventCount(t, s.DB); n != 0 {
		t.Fatalf("refused requests wrote %d events", n)
	}
}

// TestImportExportRoundTrip: the register exported as XLSX (API and CLI)
// imports with 0 events, also for values that begin with = + - @.
func TestImportExportRoundTrip(t *testing.T) {
	s := MustRunServe(t, "")
	cl := MustImportClient(t, s)
	ctx := context.Background()
	if _, err := cl.Import(ctx, client.ImportRequest{Filename: "register-semicolon.csv",
		File: mustReadFile(t, filepath.Join(importTestdata, "register-semicolon.csv"))}); err != nil {
		t.Fatal(err)
	}
	pty, err := cl.CreateParty(ctx, client.Fields{"name": "@Formula Ltd", "category": "supplier", "scope": "external", "owner": "=ops"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CreateRequirement(ctx, pty.ID, client.Fields{"kind": "expectation", "title": "+44 hotline",
		"description": "-5 % at most", "source_type": "contract", "source_ref": "=HYPERLINK(\"x\")", "priority": "high"}); err != nil {
		t.Fatal(err)
	}
	before := eventCount(t, s.DB)
	wb, err := cl.RegisterXLSX(ctx, client.PartyFilter{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := cl.Import(ctx, client.ImportRequest{Filename: "register.xlsx", File: wb})
	if err != nil {
		t.Fatal(err)
	}
	if p.Parties.Unchanged == 0 || p.Parties.Added+p.Parties.Revised+p.Requirements.Added+p.Requirements.Revised != 0 {
		t.Errorf("round trip plan %+v", p)
	}
	if n := eventCount(t, s.DB); n != before {
		t.Fatalf("export → import wrote %d events, want 0", n-before)
	}

	// The CLI's register --format xlsx, read from the log, round-trips too.
	out := filepath.Join(t.TempDir(), "register.xlsx")
	if got, code := runCLI(t, "register", "--db", s.DB, "--output", out); code != 0 {
		t.Fatalf("register --output %s: exit %d: %s", out, code, got)
	}
	p, err = cl.Import(ctx, client.ImportRequest{Filename: "register.xlsx", File: mustReadFile(t, out)})
	if err != nil {
		t.Fatal(err)
	}
	if n := eventCount(t, s.DB); n != before || len(p.Items) != 0 {
		t.Fatalf("CLI export → import wrote %d events, items %+v", n-before, p.Items)
	}
}

// TestImportConcurrentNoDuplicate races an import that adds a party with a
// manual create of the same name: whichever lands first, the register ends
// with exactly one active party of that name (the name reservation is
// claimed in the import's atomic append).
func TestImportConcurrentNoDuplicate(t *testing.T) {
	s := MustRunServe(t, "")
	cl := MustImportClient(t, s)
	ctx := context.Background()
	for i := range 8 {
		name := fmt.Sprintf("Racing supplier %d", i)
		csv := "Interested party;Category;Internal/External\r\n" + name + ";supplier;external\r\n"
		var wg sync.WaitGroup
		var importErr, createErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, importErr = cl.Import(ctx, client.ImportRequest{Filename: "race.csv", File: []byte(csv)})
		}()
		go func() {
			defer wg.Done()
			_, createErr = cl.CreateParty(ctx, client.Fields{"name": name, "category": "supplier", "scope": "external"})
		}()
		wg.Wait()
		for _, err := range []error{importErr, createErr} {
			if err != nil && !client.IsCode(err, "conflict") {
				t.Fatalf("round %d: %v", i, err)
			}
		}
		ps, err := cl.Parties(ctx, client.PartyFilter{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, p := range ps {
			if strings.EqualFold(p.Name, name) {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("round %d: %d active parties named %q (import: %v, create: %v)", i, n, name, importErr, createErr)
		}
	}
}

// TestImportCLI runs "partyledger import" against the real server: a dry
// run prints the plan and writes nothing; the import writes it; a file
// with errors exits non-zero.
func TestImportCLI(t *testing.T) {
	s := MustRunServe(t, "")
	apiTransport = openapitest.MustLoad(t, httpapi.OpenAPI()).Transport(t, nil)
	t.Cleanup(func() { apiTransport = nil })
	file := filepath.Join(importTestdata, "consultant.xlsx")
	auth := []string{"--url", s.URL, "--token", s.Token}
	out, code := runCLI(t, append([]string{"import", file, "--dry-run"}, auth...)...)
	if code != 0 || !strings.Contains(out, "dry run (nothing written)") || !strings.Contains(out, "5 added") ||
		!strings.Contains(out, "add_party") || eventCount(t, s.DB) != 0 {
		t.Fatalf("import --dry-run: exit %d, %d events:\n%s", code, eventCount(t, s.DB), out)
	}
	out, code = runCLI(t, append([]string{"import", file, "--reason", "migration"}, auth...)...)
	if code != 0 || !strings.Contains(out, "imported") || registerEventCount(t, s.DB) != 13 {
		t.Fatalf("import: exit %d, %d events:\n%s", code, registerEventCount(t, s.DB), out)
	}
	var reason string
	if err := openDBForTest(t, s.DB).QueryRow(`SELECT reason FROM events LIMIT 1`).Scan(&reason); err != nil || reason != "migration" {
		t.Errorf("reason %q, %v; want migration", reason, err)
	}
	out, code = runCLI(t, append([]string{"import", filepath.Join(importTestdata, "errors.xlsx")}, auth...)...)
	if code == 0 || !strings.Contains(out, "errors (") || !strings.Contains(out, "nothing written") {
		t.Fatalf("import of errors.xlsx: exit %d:\n%s", code, out)
	}
}

// TestImportBeyondNATSBatchLimit: on JetStream one atomic append takes at
// most 1,000 events, so a bigger import is refused with 400 and a message
// that says how to split it, and nothing is written; a smaller one lands.
func TestImportBeyondNATSBatchLimit(t *testing.T) {
	srv := MustRunNATS(t)
	s := MustRunServe(t, filepath.Join(t.TempDir(), "a.db"), onNATS(srv))
	cl := MustImportClient(t, s)
	ctx := context.Background()
	_, err := cl.Import(ctx, client.ImportRequest{Filename: "big.csv", File: importtest.RegisterCSV(400, 2)})
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != http.StatusBadRequest || !strings.Contains(ce.Detail, "at most 1000") || !strings.Contains(ce.Detail, "split") {
		t.Fatalf("import of 1,600 events on NATS: %v, want 400 saying the limit and how to split", err)
	}
	var list struct {
		Parties []party `json:"parties"`
	}
	mustStatus(t, s.do(t, "GET", "/api/v1/parties?limit=500", nil, &list), http.StatusOK)
	if len(list.Parties) != 0 {
		t.Fatalf("a refused import left %d parties", len(list.Parties))
	}
	p, err := cl.Import(ctx, client.ImportRequest{Filename: "small.csv", File: importtest.RegisterCSV(100, 2)})
	if err != nil {
		t.Fatalf("import of 400 events on NATS: %v", err)
	}
	if p.DryRun || len(p.Errors) != 0 {
		t.Fatalf("plan %+v", p)
	}
	mustStatus(t, s.do(t, "GET", "/api/v1/parties?limit=500", nil, &list), http.StatusOK)
	if len(list.Parties) != 100 {
		t.Fatalf("%d parties after importing 100", len(list.Parties))
	}
}
