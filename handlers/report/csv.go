package report

import (
	"bufio"
	"encoding/csv"
	"io"
)

// WriteCSV writes the report's field changes as CSV (RFC 4180, UTF-8, a
// header row of [ChangeColumns]). A window with no changes gives the header
// row alone. Every cell is passed through [Defuse].
func WriteCSV(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	cw := csv.NewWriter(bw)
	if err := cw.Write(ChangeColumns); err != nil {
		return err
	}
	err := r.eachChangeRow(func(row []string) error {
		for i := range row {
			row[i] = Defuse(row[i])
		}
		return cw.Write(row)
	})
	if err != nil {
		return err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}
