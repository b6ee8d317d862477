package report

import (
	"bufio"
	_ "embed"
	"html/template"
	"io"

	"github.com/partyledger/partyledger/handlers/diagrams"
	"github.com/partyledger/partyledger/projections"
)

//go:embed report.html.tmpl
var htmlSource string

// htmlTemplate renders the standalone HTML report: inline CSS, no scripts,
// no external resources, print-friendly. html/template escapes every value
// from the log for its context.
var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"when":              When,
	"label":             Label,
	"fieldLabel":        FieldLabel,
	"changeLabel":       ChangeLabel,
	"positions":         Positions,
	"boundText":         BoundText,
	"orDash":            orDash,
	"dateOrDash":        dateOrDash,
	"boolAny":           boolAny,
	"scopeTitle":        scopeTitle,
	"countRows":         countRows,
	"gridSVG":           func(ps []projections.PartyView) template.HTML { return template.HTML(GridSVG(ps)) }, // GridSVG escapes the names
	"mapSVG":            func(m diagrams.Map) template.HTML { return template.HTML(m.SVG()) },                 // the renderer escapes the names
	"actionStatus":      actionStatus,
	"eventList":         EventList,
	"requirementTitles": requirementTitles,
	"itemData": func(d htmlData, it Item) any {
		return struct {
			R    *Report
			Item Item
		}{d.Report, it}
	},
	"openData": func(d htmlData, items []OpenRequirement) any {
		return struct {
			R     *Report
			Items []OpenRequirement
		}{d.Report, items}
	},
}).Parse(htmlSource))

// htmlData is what the template renders.
type htmlData struct {
	*Report
	Groups []htmlGroup
}

// htmlGroup is one scope group of the changes section.
type htmlGroup struct {
	Internal bool
	Parties  []PartyChanges
}

// WriteHTML writes the report as one standalone HTML page.
func WriteHTML(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	data := htmlData{r, []htmlGroup{{true, r.Internal}, {false, r.External}}}
	if err := htmlTemplate.Execute(bw, data); err != nil {
		return err
	}
	if err := bw.WriteByte('\n'); err != nil {
		return err
	}
	return bw.Flush()
}
