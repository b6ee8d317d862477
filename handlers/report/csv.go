package report

import (
	"io"

	"github.com/partyledger/partyledger/handlers/csvsafe"
)

// WriteCSV writes the report's field changes as CSV (RFC 4180, UTF-8, a
// header row of [ChangeColumns]). A window with no changes gives the header
// row alone. Every cell is quoted and defused by [csvsafe.Writer].
func WriteCSV(w io.Writer, r *Report) error {
	cw := csvsafe.NewWriter(w)
	if err := cw.Write(ChangeColumns); err != nil {
		return err
	}
	err := r.eachChangeRow(func(row []string) error {
		return cw.Write(row)
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}
