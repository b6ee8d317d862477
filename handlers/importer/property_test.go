package importer

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// randomRegisterCSV builds a CSV from a random subset of the known headers
// and random cell values drawn from what real files contain: synonyms,
// blanks, dates in several forms, repeated and continued parties.
func randomRegisterCSV(r *rand.Rand) string {
	type col struct {
		header string
		values []string
	}
	cols := []col{
		{"Stakeholder", []string{"Customers", "customers", "Regulator", "Staff", "Bank", "=evil", "Acme, Inc."}},
		{"Type", []string{"Int", "External", "ext", ""}},
		{"Category", []string{"Client", "regulatory body", "staff", "supplier", "", "other"}},
		{"Power", []string{"High", "low", "3", "5", ""}},
		{"Interest (1-5)", []string{"Medium", "1", "4", ""}},
		{"Needs & expectations", []string{"Data protection", "data protection ", "Uptime", "Pay on time", "-5 % cost", ""}},
		{"Requirement/Expectation", []string{"requirement", "Expectation", ""}},
		{"Source type", []string{"law", "Contractual", "", "SLA"}},
		{"Legal reference", []string{"GDPR Art. 32", "", "MSA §7"}},
		{"Addressed by ISMS?", []string{"Yes", "n", "✓", "x", "", "TBD"}},
		{"How addressed", []string{"Encryption", "", "Line one\nline two"}},
		{"Annex A controls", []string{"A.5.19, A.8.24", "A.5.1", ""}},
		{"Responsible", []string{"CISO", " DPO ", ""}},
		{"Priority", []string{"High", "med", "critical", ""}},
		{"Review date", []string{"2026-06-30", "30/06/2026", "1.7.2026", ""}},
		{"Party owner", []string{"Sales", ""}},
		{"Rationale", []string{"", "Contract", "Law"}},
	}
	sep := []string{",", ";"}[r.IntN(2)]
	var chosen []col
	chosen = append(chosen, cols[0])
	for _, c := range cols[1:] {
		if r.IntN(3) > 0 {
			chosen = append(chosen, c)
		}
	}
	r.Shuffle(len(chosen), func(i, j int) { chosen[i], chosen[j] = chosen[j], chosen[i] })
	quote := func(s string) string {
		if strings.ContainsAny(s, sep+"\"\n,") {
			return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
		}
		return s
	}
	var b strings.Builder
	if r.IntN(2) == 0 {
		b.WriteString("\ufeffRegister of interested parties\r\n\r\n")
	}
	for i, c := range chosen {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(quote(c.header))
	}
	b.WriteString("\r\n")
	// Party columns hold one value per party; a party's requirement titles
	// are distinct; rows without a title leave the requirement blank.
	isParty := map[string]bool{"Stakeholder": true, "Type": true, "Category": true, "Power": true,
		"Interest (1-5)": true, "Party owner": true}
	partyVals := map[string]map[string]string{}
	usedTitles := map[string]map[string]bool{}
	for range 1 + r.IntN(12) {
		party := cols[0].values[r.IntN(len(cols[0].values))]
		key := strings.ToLower(strings.TrimSpace(party))
		if partyVals[key] == nil {
			partyVals[key] = map[string]string{"Stakeholder": party}
			usedTitles[key] = map[string]bool{}
			for _, c := range cols[1:] {
				if isParty[c.header] {
					partyVals[key][c.header] = c.values[r.IntN(len(c.values))]
				}
			}
			if partyVals[key]["Type"] == "" {
				partyVals[key]["Type"] = "external"
			}
		}
		title := cols[5].values[r.IntN(len(cols[5].values))]
		if usedTitles[key][strings.ToLower(strings.TrimSpace(title))] {
			continue
		}
		if title != "" {
			usedTitles[key][strings.ToLower(strings.TrimSpace(title))] = true
		}
		for i, c := range chosen {
			if i > 0 {
				b.WriteString(sep)
			}
			v := ""
			switch {
			case isParty[c.header]:
				v = partyVals[key][c.header]
			case c.header == cols[5].header:
				v = title
			case title != "":
				v = c.values[r.IntN(len(c.values))]
			}
			b.WriteString(quote(v))
		}
		b.WriteString("\r\n")
	}
	return b.String()
}

// TestReimportIsIdempotent is a property test over random registers: any
// file the importer accepts without errors plans no event the second time,
// and the register's XLSX export of the result imports with no event too.
func TestReimportIsIdempotent(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 2026))
	accepted := 0
	for i := range 400 {
		data := randomRegisterCSV(r)
		tb := MustReadBytes(t, []byte(data), Input{Filename: fmt.Sprintf("random-%d.csv", i)})
		reg := newRegister()
		p := MustPlan(t, reg, tb, testOptions())
		if len(p.Errors) != 0 {
			if testing.Verbose() && i < 60 {
				t.Logf("file %d rejected: %s", i, p.Errors[0].Message)
			}
			continue
		}
		accepted++
		reg.apply(t, p)
		if again := MustPlan(t, reg, tb, testOptions()); again.Events() != 0 || len(again.Errors) != 0 {
			t.Fatalf("file %d: second plan has %d events %+v, errors %+v\n%s", i, again.Events(), again.Items, again.Errors, data)
		}
		var buf strings.Builder
		w := &byteWriter{&buf}
		if err := WriteXLSX(w, reg.list(), testNow); err != nil {
			t.Fatal(err)
		}
		back := MustPlan(t, reg, MustReadBytes(t, []byte(buf.String()), Input{}), testOptions())
		if back.Events() != 0 || len(back.Errors) != 0 {
			t.Fatalf("file %d: export -> import plans %d events %+v, errors %+v\n%s", i, back.Events(), back.Items, back.Errors, data)
		}
	}
	if accepted < 150 {
		t.Errorf("only %d of 400 random files were accepted: the generator tests too little", accepted)
	}
	t.Logf("%d of 400 random files accepted", accepted)
}

type byteWriter struct{ b *strings.Builder }

func (w *byteWriter) Write(p []byte) (int, error) { return w.b.Write(p) }
