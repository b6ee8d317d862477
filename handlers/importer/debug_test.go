package importer

import (
	"encoding/json"
	"os"
	"testing"
)

func TestDebug(t *testing.T) {
	for _, n := range []string{"consultant.xlsx", "register-semicolon.csv", "errors.xlsx"} {
		tb := MustRead(t, n, Input{Filename: n})
		p := MustPlan(t, newRegister(), tb, testOptions())
		tb.columnOf = nil
		e := json.NewEncoder(os.Stdout)
		e.SetIndent("", " ")
		e.Encode(tb)
		e.Encode(p)
	}
}
