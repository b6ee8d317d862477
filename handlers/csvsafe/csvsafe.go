// Package csvsafe writes text that spreadsheets open without running any of
// it as a formula. Every CSV and XLSX writer of partyledger passes its cells
// through [Defuse] (the CSV writers through [Writer], which also quotes
// every field); an importer reading such a file back calls [Undefuse].
//
// # What is neutralised
//
// A spreadsheet runs a cell as a formula when it starts with = + - or @
// (and, in some, their full-width forms ＝ ＋ － ＠, or a leading tab or
// carriage return). Where the list separator is ; (German, French, Dutch,
// Italian, Spanish locales) or the file is split again on , tab or newline,
// the text after a separator starts a new cell: "x;=1+1" becomes a cell
// "=1+1". Defuse therefore looks at every "cell start": the beginning of
// the text and the position after each separator (, ; tab CR LF), after
// any spaces. Where a formula character follows (possibly after quotes),
// it inserts one apostrophe, which spreadsheets read as "text follows".
// Adding one apostrophe also where quotes already precede the formula
// character makes the change reversible: Undefuse(Defuse(s)) == s for
// every s.
package csvsafe

import (
	"bufio"
	"io"
	"strings"
	"unicode/utf8"
)

// isFormulaStart reports whether a cell starting with r may run as a formula.
func isFormulaStart(r rune) bool {
	switch r {
	case '=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠':
		return true
	}
	return false
}

// isSeparator reports whether r may end a cell in some reader's view.
func isSeparator(r rune) bool {
	switch r {
	case ',', ';', '\t', '\r', '\n':
		return true
	}
	return false
}

// Defuse returns s with an apostrophe inserted at every cell start that is
// followed (after spaces and apostrophes) by a formula character. Text
// without such a position is returned unchanged.
func Defuse(s string) string { return rewrite(s, true) }

// Undefuse reverses [Defuse]: Undefuse(Defuse(s)) == s for every s.
func Undefuse(s string) string { return rewrite(s, false) }

func rewrite(s string, defuse bool) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	start := true
	for i := 0; i < len(s); {
		if start {
			start = false
			j := i
			for j < len(s) && s[j] == ' ' {
				j++
			}
			k := j
			for k < len(s) && s[k] == '\'' {
				k++
			}
			if k < len(s) {
				if r, _ := utf8.DecodeRuneInString(s[k:]); isFormulaStart(r) && (defuse || k > j) {
					b.WriteString(s[i:j])
					if defuse {
						b.WriteByte('\'')
						i = j
					} else {
						i = j + 1 // drop one apostrophe
					}
				}
			}
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		b.WriteString(s[i : i+size])
		start = isSeparator(r)
		i += size
	}
	return b.String()
}

// Writer writes CSV (RFC 4180, CRLF line ends) with every field quoted and
// defused. Quoting every field means no reader has to guess where a cell
// ends, whatever its list separator. Like encoding/csv's Writer, it
// buffers: call Flush, then check Error.
type Writer struct {
	w   *bufio.Writer
	err error
}

// NewWriter returns a Writer that writes to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: bufio.NewWriter(w)} }

// Write writes one record. The record's slice is not changed.
func (w *Writer) Write(record []string) error {
	if w.err != nil {
		return w.err
	}
	for i, f := range record {
		if i > 0 {
			w.w.WriteByte(',')
		}
		w.w.WriteByte('"')
		w.w.WriteString(strings.ReplaceAll(Defuse(f), `"`, `""`))
		_, w.err = w.w.WriteString(`"`)
	}
	_, w.err = w.w.WriteString("\r\n")
	return w.err
}

// Flush writes any buffered data to the underlying writer.
func (w *Writer) Flush() {
	if w.err == nil {
		w.err = w.w.Flush()
	}
}

// Error reports any error of a previous Write or Flush.
func (w *Writer) Error() error { return w.err }
