package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// WriteMarkdown writes the report as GitHub-flavoured Markdown. Text from
// the log is escaped, so a name cannot turn into markup or raw HTML.
func WriteMarkdown(w io.Writer, r *Report) error {
	m := &mdWriter{w: bufio.NewWriter(w)}
	m.header(r)
	m.executive(r)
	if r.NoChanges() {
		m.p("**No changes.** No interested party, requirement or expectation was added, revised, retired or re-decided in this window.")
	} else {
		m.summary(r)
		m.changes(r)
	}
	m.grid(r)
	m.previous(r)
	m.reviewRecords(r)
	m.open(r)
	m.annex(r)
	m.signOff(r)
	m.evidence(r)
	m.integrity(r)
	if m.err != nil {
		return m.err
	}
	return m.w.Flush()
}

type mdWriter struct {
	w   *bufio.Writer
	err error
}

func (m *mdWriter) printf(format string, args ...any) {
	if m.err == nil {
		_, m.err = fmt.Fprintf(m.w, format, args...)
	}
}

// p writes a paragraph (already escaped).
func (m *mdWriter) p(s string) { m.printf("%s\n\n", s) }

// row writes one table row of already escaped cells.
func (m *mdWriter) row(cells ...string) { m.printf("| %s |\n", strings.Join(cells, " | ")) }

func (m *mdWriter) header(r *Report) {
	m.printf("# %s\n\n", mdEsc(r.Title))
	m.p("**" + mdEsc(r.Organisation) + "** · ISO/IEC 27001:2022 clause 9.3.2 c) · input to the management review")
	m.row("", "")
	m.row("---", "---")
	m.row("From (exclusive)", mdEsc(BoundText(r.Since)))
	m.row("To (inclusive)", mdEsc(BoundText(r.Until)))
	m.row("Net changes in the window", fmt.Sprint(r.NetChanges))
	m.row("Events in the window", fmt.Sprint(r.Events))
	m.row("Generated", mdEsc(When(r.GeneratedAt)+" by "+orDash(r.GeneratedBy)))
	m.printf("\n")
}

func (m *mdWriter) summary(r *Report) {
	s := r.Summary
	m.printf("## Summary\n\n")
	m.row("", "added", "revised", "retired", "reviewed")
	m.row("---", "---:", "---:", "---:", "---:")
	for _, c := range countRows(s) {
		m.row(c...)
	}
	m.printf("\n")
	m.row("also in the window", "")
	m.row("---", "---:")
	m.row("objectives and KPIs changed (clause 6.2)", fmt.Sprint(s.Objectives))
	m.row("communications planned or sent (clause 7.4)", fmt.Sprint(s.Communications))
	m.printf("\n### Addressing decisions (clause 4.2 c)\n\n")
	m.row("decision", "events")
	m.row("---", "---:")
	for _, row := range s.Addressing.Rows() {
		m.row(mdEsc(row.Label), fmt.Sprint(row.N))
	}
	m.row("**total**", fmt.Sprintf("**%d**", s.Addressing.Total()))
	m.printf("\n### Changes by trigger\n\n")
	m.row("trigger", "net changes")
	m.row("---", "---:")
	for _, t := range s.ByTrigger {
		m.row(mdEsc(t.Label()), fmt.Sprint(t.Events))
	}
	m.row("**total**", fmt.Sprintf("**%d**", r.NetChanges))
	m.printf("\n")
}

func (m *mdWriter) changes(r *Report) {
	m.printf("## Changes by party\n\n")
	for _, g := range []struct {
		internal bool
		parties  []PartyChanges
	}{{true, r.Internal}, {false, r.External}} {
		m.printf("### %s\n\n", scopeTitle(g.internal))
		if len(g.parties) == 0 {
			m.p("No changes.")
			continue
		}
		for _, pc := range g.parties {
			m.printf("#### %s\n\n", mdEsc(pc.Party.Name))
			m.p("*" + mdEsc(Label(pc.Party.Category)+" · "+Label(pc.Party.Scope)) + "*")
			for _, it := range pc.Items {
				m.item(r, it)
			}
		}
	}
	if len(r.Objectives) > 0 {
		m.printf("### Objectives and KPIs (clause 6.2)\n\n")
		for _, it := range r.Objectives {
			m.item(r, it)
		}
	}
	m.printf("## Relationships changed\n\n")
	if len(r.Relationships) == 0 {
		m.p("No relationship between parties was established, revised or ended in this window.")
	}
	for _, it := range r.Relationships {
		m.item(r, it)
	}
}

func (m *mdWriter) item(r *Report, it Item) {
	title := ChangeLabel(it)
	if s := it.Subject(); s != "" {
		title += ": " + s
	}
	m.printf("##### %s\n\n", mdEsc(title))
	m.row("field", "from", "to")
	m.row("---", "---", "---")
	for _, fc := range it.Fields {
		m.row(mdEsc(FieldLabel(fc.Field)), mdEsc(r.Value(fc.Field, fc.From)), mdEsc(r.Value(fc.Field, fc.To)))
	}
	m.printf("\n")
	if s := r.NetSentence(it); s != "" {
		m.p(mdEsc(s))
	}
	for _, ci := range it.Details {
		m.printf("- %s — %s\n", When(ci.Time), mdEsc(r.EventSentence(ci)))
	}
	if it.Ref != "" {
		m.printf("\n*Evidence %s.*\n", it.Ref)
	}
	m.printf("\n")
}

func (m *mdWriter) open(r *Report) {
	m.printf("## Requirements not yet decided (clause 4.2 c)\n\n")
	m.openTable(r, r.Undecided, "None: every active requirement and expectation has a decision.")
	m.printf("## Requirements past their review date (before %s)\n\n", r.Today())
	m.openTable(r, r.PastDue, "None.")
	if lines := r.FailedReminderLines(); len(lines) > 0 {
		m.printf("## %s\n\n", FailedRemindersHeading)
		for _, l := range lines {
			m.printf("- %s\n", mdEsc(l))
		}
		m.printf("\n")
	}
	m.printf("## Retired parties with open requirements\n\n")
	if len(r.Retired) == 0 {
		m.p("None.")
	}
	for _, rp := range r.Retired {
		m.printf("### %s\n\n", mdEsc(rp.Party.Name))
		m.p("*" + mdEsc(Label(rp.Party.Category)+" · "+Label(rp.Party.Scope)) + "* · retired " + When(rp.RetiredAt))
		m.row("kind", "title", "owner", "priority", "addressed", "review due")
		m.row("---", "---", "---", "---", "---", "---")
		for _, q := range rp.Requirements {
			m.row(mdEsc(Label(q.Kind)), mdEsc(q.Title), mdEsc(orDash(q.Owner)), mdEsc(Label(q.Priority)),
				mdEsc(r.Value("addressed", boolAny(q.Addressed))), mdEsc(dateOrDash(q.ReviewDue)))
		}
		m.printf("\n")
	}
}

func (m *mdWriter) openTable(r *Report, rs []OpenRequirement, none string) {
	if len(rs) == 0 {
		m.p(none)
		return
	}
	m.row("party", "kind", "title", "owner", "priority", "addressed", "review due")
	m.row("---", "---", "---", "---", "---", "---", "---")
	for _, o := range rs {
		q := o.Requirement
		m.row(mdEsc(o.Party.Name), mdEsc(Label(q.Kind)), mdEsc(o.TitleWithReminders()), mdEsc(orDash(q.Owner)), mdEsc(Label(q.Priority)),
			mdEsc(r.Value("addressed", boolAny(q.Addressed))), mdEsc(dateOrDash(q.ReviewDue)))
	}
	m.printf("\n")
}

func (m *mdWriter) integrity(r *Report) {
	in := r.Integrity
	m.printf("---\n\n## Integrity\n\n")
	m.p(fmt.Sprintf("%s: position **%d**, hash `%s`.", in.Label(), in.HeadPosition, orDash(in.HeadHash)))
	if in.Checkpoint == "" {
		m.p("Signed checkpoint: none available.")
	} else {
		fence := "```"
		for strings.Contains(in.Checkpoint, fence) {
			fence += "`"
		}
		m.printf("Latest signed checkpoint:\n\n%stext\n%s\n%s\n\n", fence, strings.TrimRight(in.Checkpoint, "\n"), fence)
	}
	m.p("The evidence appendix names the ids and log positions behind every line; the events and the hash chain can be checked in the audit trail.")
}

func (m *mdWriter) executive(r *Report) {
	m.printf("## Executive summary\n\n")
	for _, s := range r.Executive {
		m.printf("- %s\n", mdEsc(s))
	}
	m.printf("\n")
}

func (m *mdWriter) grid(r *Report) {
	m.printf("## Power–interest grid\n\n")
	m.row("quadrant", "parties (influence/interest)")
	m.row("---", "---")
	for _, g := range GridRows(r.Annex) {
		m.row(mdEsc(g[0]), mdEsc(orDash(g[1])))
	}
	m.printf("\n")
	if r.MapDrawn {
		// Markdown has no picture of its own: the map's Mermaid, which
		// renders where Markdown does (GitHub, GitLab, wikis).
		m.printf("## Relationship map\n\n```mermaid\n%s```\n\n", r.Map.Mermaid())
	}
}

func (m *mdWriter) previous(r *Report) {
	m.printf("## Decisions and actions of the previous review\n\n")
	p := r.Previous
	if p == nil {
		m.p("The window does not start at a management review.")
		return
	}
	m.p(mdEsc(p.Review.Title + " (held on " + p.Review.HeldOn + ")"))
	if len(p.Review.Decisions) == 0 {
		m.p("Decisions: none recorded.")
	} else {
		m.printf("Decisions:\n\n")
		for _, d := range p.Review.Decisions {
			m.printf("- %s\n", mdEsc(d))
		}
		m.printf("\n")
	}
	if len(p.Actions) == 0 {
		m.p("Actions: none recorded.")
		return
	}
	m.row("action", "owner", "due", "status", "evidence")
	m.row("---", "---", "---", "---", "---")
	for _, a := range p.Actions {
		m.row(mdEsc(a.Title), mdEsc(a.Owner), a.DueOn, mdEsc(actionStatus(a)), mdEsc(orDash(a.Evidence)))
	}
	m.printf("\n")
}

func (m *mdWriter) annex(r *Report) {
	m.printf("## Annex: the register as of position %d\n\n", r.AsOf)
	if len(r.Annex) == 0 {
		m.p("The register is empty.")
		return
	}
	m.row("party", "category", "scope", "owner", "influence", "interest", "requirements and expectations")
	m.row("---", "---", "---", "---", "---:", "---:", "---")
	for _, p := range r.Annex {
		m.row(mdEsc(p.Name), mdEsc(Label(p.Category)), mdEsc(Label(p.Scope)), mdEsc(orDash(p.Owner)),
			fmt.Sprint(p.Influence), fmt.Sprint(p.Interest), mdEsc(orDash(requirementTitles(p))))
	}
	m.printf("\n")
}

func (m *mdWriter) evidence(r *Report) {
	m.printf("## Evidence appendix\n\n")
	if len(r.Evidence) == 0 {
		m.p("No changes, no evidence to list.")
		return
	}
	m.row("ref", "change or party", "ids", "log positions")
	m.row("---", "---", "---", "---")
	for _, e := range r.Evidence {
		m.row(orDash(e.Ref), mdEsc(e.Subject), mdEsc(orDash(e.IDs)), mdEsc(orDash(EventList(e.Events))))
	}
	m.printf("\n")
}

func (m *mdWriter) signOff(*Report) {
	m.printf("## Sign-off\n\n")
	m.row("", "")
	m.row("---", "---")
	m.row("Reviewed by", "")
	m.row("Date", "")
	m.row("Signature", "")
	m.printf("\n")
}

// mdEsc escapes text for Markdown inline and table context: punctuation
// that would start markup or raw HTML is backslash-escaped, and line breaks
// become <br> so that a cell or list item stays on one line.
func mdEsc(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\', '`', '*', '_', '[', ']', '<', '>', '|', '#', '!', '~':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				continue
			}
			b.WriteString("<br>")
		case '\n':
			b.WriteString("<br>")
		case '\t':
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// countRows are the rows of the summary's counts table: name, added,
// revised, retired, reviewed.
func countRows(s Summary) [][]string {
	row := func(name string, c Counts, reviewed string) []string {
		return []string{name, fmt.Sprint(c.Added), fmt.Sprint(c.Revised), fmt.Sprint(c.Retired), reviewed}
	}
	return [][]string{
		row("Parties", s.Parties, "—"),
		row("Requirements", s.Requirements, fmt.Sprint(s.Requirements.Reviewed)),
		row("Expectations", s.Expectations, fmt.Sprint(s.Expectations.Reviewed)),
		row("Relationships (established, revised, ended)", s.Relationships, "—"),
	}
}

// itemID names what an item is about by id, in code style for Markdown:
// requirement `…`, objective `…` · KPI `…`; "" for the party itself.
func itemID(it Item) string {
	switch {
	case it.Requirement != nil:
		return "requirement `" + it.Requirement.ID + "`"
	case it.Objective != nil && it.Objective.KPI != nil:
		return "objective `" + it.Objective.ID + "` · KPI `" + it.Objective.KPI.ID + "`"
	case it.Objective != nil:
		return "objective `" + it.Objective.ID + "`"
	case it.Relationship != nil:
		return "relationship `" + it.Relationship.ID + "` · from party `" + it.Relationship.FromPartyID +
			"` · to party `" + it.Relationship.ToPartyID + "`"
	}
	return ""
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}

func dateOrDash(p *string) string {
	if p == nil || *p == "" {
		return "—"
	}
	return *p
}

func boolAny(p *bool) any {
	if p == nil {
		return nil
	}
	return *p
}
