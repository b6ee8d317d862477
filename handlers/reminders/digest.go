package reminders

import (
	"bytes"
	"fmt"
	"html/template"
	"strings"
)

// Message is one e-mail to send.
type Message struct {
	From      string
	To        []string
	Subject   string
	Text      string // the plain-text body
	HTML      string // the same content as HTML: no images, no scripts, no tracking
	MessageID string // without angle brackets
}

// kindLabels name the item kinds in digests.
var kindLabels = map[string]string{
	KindReviewDue:        "Requirement review",
	KindCommunicationDue: "Planned communication",
	KindMeasurementDue:   "KPI measurement",
	KindActionDue:        "Management-review action",
	KindUndecided:        "Undecided requirement",
}

func label(kind string) string {
	if l, ok := kindLabels[kind]; ok {
		return l
	}
	return kind
}

// link returns the absolute address of an item's page: baseURL (the
// console's public address) followed by the item's path.
func link(baseURL, path string) string { return strings.TrimSuffix(baseURL, "/") + path }

// Compose builds the digest for one owner: a subject naming the count and
// the overdue ones, and the same list as plain text and as HTML.
func Compose(o OwnerItems, window, baseURL string) (subject, text, html string) {
	overdue := 0
	for _, it := range o.Items {
		if it.Overdue {
			overdue++
		}
	}
	subject = fmt.Sprintf("partyledger: %d item(s) due for %s", len(o.Items), o.Owner)
	if overdue > 0 {
		subject += fmt.Sprintf(" (%d overdue)", overdue)
	}
	var t strings.Builder
	fmt.Fprintf(&t, "Hello %s,\n\nthese items of the ISMS register are due (as of %s):\n\n", o.Owner, window)
	for _, it := range o.Items {
		state := "due"
		if it.Overdue {
			state = "OVERDUE"
		}
		fmt.Fprintf(&t, "- [%s %s] %s: %s", state, it.Due, label(it.Kind), it.Title)
		if it.Party != "" {
			fmt.Fprintf(&t, " (%s)", it.Party)
		}
		fmt.Fprintf(&t, "\n  %s\n", link(baseURL, it.Link))
	}
	t.WriteString("\nYou receive this digest because you own these items. It is recorded in the register's audit trail.\n")
	var h bytes.Buffer
	type row struct {
		Item
		Label, URL string
	}
	rows := make([]row, 0, len(o.Items))
	for _, it := range o.Items {
		rows = append(rows, row{Item: it, Label: label(it.Kind), URL: link(baseURL, it.Link)})
	}
	if err := digestHTML.Execute(&h, map[string]any{"Owner": o.Owner, "Window": window, "Rows": rows}); err != nil {
		// The template is fixed and its data plain strings: this cannot fail.
		panic(err)
	}
	return subject, t.String(), h.String()
}

var digestHTML = template.Must(template.New("digest").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Items due for {{.Owner}}</title></head>
<body style="font-family: sans-serif; line-height: 1.4">
<p>Hello {{.Owner}},</p>
<p>these items of the ISMS register are due (as of {{.Window}}):</p>
<table cellpadding="4" style="border-collapse: collapse">
<thead><tr><th align="left">Due</th><th align="left">What</th><th align="left">Item</th><th align="left">Party</th></tr></thead>
<tbody>
{{- range .Rows}}
<tr><td>{{if .Overdue}}<strong>overdue</strong> {{end}}{{.Due}}</td><td>{{.Label}}</td><td><a href="{{.URL}}">{{.Title}}</a></td><td>{{.Party}}</td></tr>
{{- end}}
</tbody></table>
<p>You receive this digest because you own these items. It is recorded in the register's audit trail.</p>
</body></html>
`))
