package report

import (
	"io"
	"strings"

	"github.com/partyledger/partyledger/domain"
)

// Format is an output format of the report; its value is the file
// extension.
type Format string

// The formats [Render] writes.
const (
	Markdown Format = "md"
	HTML     Format = "html"
	PDF      Format = "pdf"
	CSV      Format = "csv"
	XLSX     Format = "xlsx"
)

// Formats lists every format, in the order help texts show them.
var Formats = []Format{Markdown, HTML, PDF, CSV, XLSX}

// ParseFormat returns the format named s (md, markdown, html, pdf, csv or
// xlsx, any case), or EINVALID naming the field "format".
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case "markdown":
		return Markdown, nil
	case Markdown, HTML, PDF, CSV, XLSX:
		return f, nil
	}
	return "", &domain.Error{Code: domain.EINVALID, Message: "invalid report format",
		Fields: []domain.FieldError{{Field: "format", Message: "must be one of md, html, pdf, csv, xlsx"}}}
}

// ContentType is the media type of the format.
func (f Format) ContentType() string {
	switch f {
	case Markdown:
		return "text/markdown; charset=utf-8"
	case HTML:
		return "text/html; charset=utf-8"
	case PDF:
		return "application/pdf"
	case CSV:
		return "text/csv; charset=utf-8"
	case XLSX:
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return "application/octet-stream"
}

// Render writes the report to w in format f. It returns EINVALID for an
// unknown format and the writer's or the encoder's error otherwise.
func Render(w io.Writer, r *Report, f Format) error {
	switch f {
	case Markdown:
		return WriteMarkdown(w, r)
	case HTML:
		return WriteHTML(w, r)
	case PDF:
		return WritePDF(w, r)
	case CSV:
		return WriteCSV(w, r)
	case XLSX:
		return WriteXLSX(w, r)
	}
	_, err := ParseFormat(string(f))
	return err
}
