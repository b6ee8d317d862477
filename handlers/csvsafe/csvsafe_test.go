package csvsafe

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDefuse(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"=1+1", "'=1+1"},
		{"x;=1+1", "x;'=1+1"},
		{"x, +1", "x, '+1"},
		{"a\n@SUM(A1)", "a\n'@SUM(A1)"},
		{"a\t-2", "a\t'-2"},
		{"\t=1", "'\t'=1"},
		{"＝1", "'＝1"},
		{"x;＋1;－1;＠a", "x;'＋1;'－1;'＠a"},
		{"'=x", "''=x"},
		{"it's = fine", "it's = fine"},
		{"1-2", "1-2"},
	} {
		if got := Defuse(c.in); got != c.want {
			t.Errorf("Defuse(%q) = %q, want %q", c.in, got, c.want)
		}
		if got := Undefuse(c.want); got != c.in {
			t.Errorf("Undefuse(%q) = %q, want %q", c.want, got, c.in)
		}
	}
}

func TestWriterQuotesEveryField(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b)
	rec := []string{"a", `say "hi"`, "x;=1+1", "", "line\nbreak"}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	want := "\"a\",\"say \"\"hi\"\"\",\"x;'=1+1\",\"\",\"line\nbreak\"\r\n"
	if b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
	rows, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows[0] {
		rows[0][i] = Undefuse(rows[0][i])
	}
	if d := cmp.Diff([][]string{rec}, rows); d != "" {
		t.Fatalf("read back (-want +got):\n%s", d)
	}
}

// FuzzDefuse: Undefuse inverts Defuse, and no cell of the result, split on
// any separator, starts (after spaces) with a formula character.
func FuzzDefuse(f *testing.F) {
	for _, s := range []string{"x;=1+1", "'=x", "\t\r=", "＝", "a, ''@b", "\xff=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := Defuse(s)
		if back := Undefuse(d); back != s {
			t.Fatalf("Undefuse(Defuse(%q)) = %q", s, back)
		}
		cells := strings.FieldsFunc(d, isSeparator)
		for _, c := range cells {
			c = strings.TrimLeft(c, " ")
			if c == "" {
				continue
			}
			r := []rune(c)[0]
			if isFormulaStart(r) {
				t.Fatalf("Defuse(%q) = %q leaves the cell %q starting with a formula", s, d, c)
			}
		}
	})
}
