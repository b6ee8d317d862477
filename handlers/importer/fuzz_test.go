package importer

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzRead feeds arbitrary files to the reader and the planner. Neither may
// panic, and a file they accept without errors must be idempotent: once
// its plan is applied, planning it again decides no event.
//
// Run: go test -run '^$' -fuzz FuzzRead -fuzztime 30s ./handlers/importer/
func FuzzRead(f *testing.F) {
	for _, name := range []string{"consultant.xlsx", "register-semicolon.csv", "errors.xlsx"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("Party,Scope,Requirement,Addressed,Next review\nAcme,ext,Pay,y,01/02/2026\n,,Second,n,\n"))
	f.Add([]byte(trickyCSV))
	f.Fuzz(func(t *testing.T, data []byte) {
		tb, err := Read(bytes.NewReader(data), Input{Filename: "fuzz"})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range tb.Rows {
			if r.Line <= tb.HeaderRow {
				t.Fatalf("row %d is not below the header row %d", r.Line, tb.HeaderRow)
			}
		}
		reg := newRegister()
		p := MustPlan(t, reg, tb, testOptions())
		if len(p.Errors) != 0 {
			return
		}
		reg.apply(t, p)
		if again := MustPlan(t, reg, tb, testOptions()); again.Events() != 0 || len(again.Errors) != 0 {
			t.Fatalf("second plan: %d events %+v, errors %+v", again.Events(), again.Items, again.Errors)
		}
	})
}
