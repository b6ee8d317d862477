package report_test

import (
	"context"
	"encoding/xml"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/demo"
	"github.com/partyledger/partyledger/handlers/report"
)

// TestRelationshipMapInReport loads the demo with its relationships,
// changes three relationships in a window closed by two positions, and
// checks the map of that window: in the HTML as inline SVG (well-formed,
// nothing loaded from outside), painted in the PDF (its names and labels
// read back with pdftotext), and the same document after the register has
// moved on.
func TestRelationshipMapInReport(t *testing.T) {
	e := MustOpenEnv(t)
	ctx := context.Background()
	if _, err := demo.Load(ctx, e.svc, "demo", nil, demo.WithRelationships()); err != nil {
		t.Fatal(err)
	}
	start := e.MustHead(t)
	gov := e.MustIdentifyParty(t, "Agency «Ω» [EU]", "external")
	if _, err := e.svc.EstablishRelationship(ctx, domain.EstablishRelationship{Meta: meta("new supervision", "regulatory_change"),
		RelationshipID: domain.RelationshipID("01975f2c-0000-7000-8000-00000000a001"), FromPartyID: gov,
		ToPartyID: demo.PartyID(demo.PartyCustomers), Kind: "regulates", Label: "EU AI Act"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.EndRelationship(ctx, domain.EndRelationship{Meta: meta("resellers dropped", "contract_change"),
		RelationshipID: demo.RelationshipID("resellers")}, nil); err != nil {
		t.Fatal(err)
	}
	end := e.MustHead(t)
	since, until := "position:"+strconv.FormatInt(start, 10), "position:"+strconv.FormatInt(end, 10)
	rep := e.MustBuild(t, since, until)
	if !rep.MapDrawn || !rep.Closed {
		t.Fatalf("MapDrawn = %v, Closed = %v", rep.MapDrawn, rep.Closed)
	}

	html := string(MustRender(t, rep, report.HTML))
	svgs := regexp.MustCompile(`(?s)<svg .*?</svg>`).FindAllString(html, -1)
	var mapSVG string
	for _, s := range svgs {
		if strings.Contains(s, "Relationship map as of position "+strconv.FormatInt(end, 10)) {
			mapSVG = s
		}
	}
	if mapSVG == "" {
		t.Fatalf("the HTML report has no inline relationship map (%d svg elements)", len(svgs))
	}
	dec := xml.NewDecoder(strings.NewReader(mapSVG))
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("the map is not well-formed XML: %v", err)
		}
	}
	for _, want := range []string{"Agency «Ω» [EU]", "added: regulates: EU AI Act", "ended: represents",
		"Cloud hosting provider (IaaS, EU"} {
		if !strings.Contains(mapSVG, want) {
			t.Errorf("the map lacks %q", want)
		}
	}
	if strings.Contains(mapSVG, "<script") || strings.Contains(mapSVG, "href=") || strings.Contains(mapSVG, "<style") {
		t.Error("the map in the report has a script, a link or a style sheet")
	}

	pdf := MustRender(t, rep, report.PDF)
	flat := strings.Join(strings.Fields(MustPDFText(t, pdf)), " ")
	for _, want := range []string{"Relationship map", "Relationship map as of position " + strconv.FormatInt(end, 10),
		"Agency «Ω» [EU]", "added: regulates: EU AI Act", "ended: represents", "Legend", "added since the window's start",
		"Relationships changed", "Agency «Ω» [EU] regulates Customers (EU AI Act)",
		"tester ended the relationship: Reseller partners represents Customers (DACH and Nordics) (reason: resellers dropped; trigger: contract change)"} {
		if !strings.Contains(flat, want) {
			t.Errorf("PDF text lacks %q", want)
		}
	}

	// The register moves on: another relationship ends, the new party is
	// renamed. The closed window's report is the same document.
	if _, err := e.svc.EndRelationship(ctx, domain.EndRelationship{Meta: meta("hosting moved", "contract_change"),
		RelationshipID: demo.RelationshipID("hosting")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.ReviseParty(ctx, domain.ReviseParty{Meta: meta("renamed", "other"), PartyID: gov,
		Name: ptr("Agency renamed")}, nil); err != nil {
		t.Fatal(err)
	}
	bl := e.builder()
	bl.Now = func() time.Time { return reportClock.Add(24 * time.Hour) }
	again, err := bl.Build(ctx, report.Request{Since: since, Until: until, GeneratedBy: "auditor"})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := withoutGenerated(MustRender(t, rep, report.HTML)), withoutGenerated(MustRender(t, again, report.HTML)); a != b {
		t.Error("the closed window's HTML report changed after the register moved on")
	}
	if string(rep.Map.SVG()) != string(again.Map.SVG()) {
		t.Error("the closed window's map changed after the register moved on")
	}
	// And a report of the open window shows the register as it is now.
	now := e.MustBuild(t, since, "")
	if m := string(now.Map.SVG()); !strings.Contains(m, "ended: hosts customer data") || !strings.Contains(m, "Agency renamed") {
		t.Error("the open window's map does not show the register as it stands")
	}
}
