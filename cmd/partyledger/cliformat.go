package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"
)

// The CLI's one grammar for lists and times: every command that prints a
// list takes --format and --output (outputFlags, writeList), and every time
// flag goes through parseMoment.

// listFormats are the formats of every list the CLI prints.
var listFormats = []string{"table", "json", "jsonl", "csv"}

// outputFlags are --format and --output of a command that prints a list.
type outputFlags struct {
	format, output string
}

func (o *outputFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.format, "format", "", "table, json, jsonl or csv (default: from --output's extension, else table on a terminal and json otherwise)")
	fs.StringVar(&o.output, "output", "", "write to this file instead of stdout (.txt, .json, .jsonl, .csv)")
}

// formatFromExt maps the extensions --output knows to formats.
var formatFromExt = map[string]string{".txt": "table", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}

// resolve returns the format: --format, else from --output's extension
// (an unknown extension is an error), else table when stdout is a
// terminal and json otherwise.
func (o outputFlags) resolve(stdout io.Writer) (string, error) {
	if o.format != "" {
		if !slices.Contains(listFormats, o.format) {
			return "", fmt.Errorf("--format %q: want table, json, jsonl or csv", o.format)
		}
		return o.format, nil
	}
	if o.output != "" {
		ext := strings.ToLower(filepath.Ext(o.output))
		f, ok := formatFromExt[ext]
		if !ok {
			return "", fmt.Errorf("--output %q: unknown extension %q; use .txt, .json, .jsonl or .csv, or give --format", o.output, ext)
		}
		return f, nil
	}
	if isTerminal(stdout) {
		return "table", nil
	}
	return "json", nil
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// listOf is a list a command prints: its items, their JSON key, and their
// table and CSV columns. The optional fields replace the standard form of
// one format with the command's own.
type listOf[T any] struct {
	key    string           // {"<key>": [...]} in json
	items  []T              // in order
	header []string         // the columns of table and csv
	row    func(T) []string // one item's cells, in the order of header
	json   func(io.Writer) error
	jsonl  func(io.Writer, T) error
	table  func(io.Writer) error
	csv    func(io.Writer) error
	footer string // after the table only, such as a paging hint
}

// writeList prints l in format to stdout or to --output's file.
func writeList[T any](o outputFlags, stdout io.Writer, l listOf[T]) (err error) {
	format, err := o.resolve(stdout)
	if err != nil {
		return err
	}
	out := stdout
	if o.output != "" && o.output != "-" {
		f, err := os.Create(o.output)
		if err != nil {
			return err
		}
		defer func() {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}()
		out = f
	}
	w := bufio.NewWriter(out)
	defer func() {
		if ferr := w.Flush(); err == nil {
			err = ferr
		}
	}()
	switch format {
	case "json":
		if l.json != nil {
			return l.json(w)
		}
		items := l.items
		if items == nil {
			items = []T{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(map[string]any{l.key: items})
	case "jsonl":
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, it := range l.items {
			if l.jsonl != nil {
				err = l.jsonl(w, it)
			} else {
				err = enc.Encode(it)
			}
			if err != nil {
				return err
			}
		}
		return nil
	case "csv":
		if l.csv != nil {
			return l.csv(w)
		}
		cw := csv.NewWriter(w)
		_ = cw.Write(l.header)
		for _, it := range l.items {
			_ = cw.Write(l.row(it))
		}
		cw.Flush()
		return cw.Error()
	}
	if l.table != nil {
		return l.table(w)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.ToUpper(strings.Join(l.header, "\t")))
	for _, it := range l.items {
		cells := l.row(it)
		for i := range cells {
			cells[i] = flatLine(cells[i])
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if l.footer != "" {
		fmt.Fprintln(w, l.footer)
	}
	return nil
}

// A moment is what a time flag names: a time, a log position, a
// management review or the last review.
type moment struct {
	kind     string // momentTime, momentPosition, momentReview, momentLastReview, momentBeginning or momentNow
	time     time.Time
	position int64
	review   string
}

// Kinds of moment, and the forms a flag accepts (a bit set).
const (
	momentTime       = "time"
	momentPosition   = "position"
	momentReview     = "review"
	momentLastReview = "last-review"
	momentBeginning  = "beginning"
	momentNow        = "now"
)

type momentForms uint8

const (
	formDate momentForms = 1 << iota
	formTime
	formPosition
	formReview
	formLastReview
	formBeginning
	formNow

	timeForms  = formDate | formTime
	asOfForms  = formDate | formTime | formPosition
	sinceForms = formDate | formTime | formPosition | formReview | formLastReview | formBeginning
	untilForms = formDate | formTime | formPosition | formReview | formNow
)

// describe lists the forms, for the one error message.
func (f momentForms) describe() string {
	var parts []string
	for _, x := range []struct {
		form momentForms
		text string
	}{{formDate, "a date (2026-03-12)"}, {formTime, "an RFC 3339 time (2026-03-12T09:00:00Z)"},
		{formPosition, "position:<n>"}, {formReview, "review:<id>"}, {formLastReview, "last-review"},
		{formBeginning, "beginning"}, {formNow, "now"}} {
		if f&x.form != 0 {
			parts = append(parts, x.text)
		}
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}

// parseMoment is the one parser of every time flag. A date means the start
// of that day (UTC), or its last instant when end is true (--to, --until,
// --as-of: the day is included). The error names the flag and the forms it
// accepts, in the same words for every flag.
func parseMoment(flag, v string, forms momentForms, end bool) (moment, error) {
	bad := func() (moment, error) {
		return moment{}, fmt.Errorf("%s %q: want %s", flag, v, forms.describe())
	}
	v = strings.TrimSpace(v)
	switch {
	case v == momentLastReview && forms&formLastReview != 0:
		return moment{kind: momentLastReview}, nil
	case v == momentBeginning && forms&formBeginning != 0:
		return moment{kind: momentBeginning}, nil
	case v == momentNow && forms&formNow != 0:
		return moment{kind: momentNow}, nil
	}
	if n, ok := strings.CutPrefix(v, "position:"); ok && forms&formPosition != 0 {
		p, err := strconv.ParseInt(n, 10, 64)
		if err != nil || p < 0 {
			return bad()
		}
		return moment{kind: momentPosition, position: p}, nil
	}
	if id, ok := strings.CutPrefix(v, "review:"); ok && forms&formReview != 0 {
		if id == "" {
			return bad()
		}
		return moment{kind: momentReview, review: id}, nil
	}
	if forms&formDate != 0 {
		if d, err := time.Parse(time.DateOnly, v); err == nil {
			if end {
				d = d.AddDate(0, 0, 1).Add(-time.Nanosecond)
			}
			return moment{kind: momentTime, time: d}, nil
		}
	}
	if forms&formTime != 0 {
		if t, err := time.Parse(time.RFC3339Nano, strings.TrimPrefix(v, "time:")); err == nil {
			return moment{kind: momentTime, time: t.UTC()}, nil
		}
	}
	return bad()
}

// window renders the moment as a since/until expression of the change
// window (the API's and the report's): last-review, beginning, now,
// review:<id>, position:<n> or time:<RFC 3339>.
func (m moment) window() string {
	switch m.kind {
	case momentTime:
		return "time:" + m.time.Format(time.RFC3339Nano)
	case momentPosition:
		return "position:" + strconv.FormatInt(m.position, 10)
	case momentReview:
		return "review:" + m.review
	}
	return m.kind
}
