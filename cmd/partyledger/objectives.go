package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/commands"
	"github.com/partyledger/partyledger/handlers/httpapi"
	"github.com/partyledger/partyledger/projections"
)

func init() {
	featureCommands = append(featureCommands, newObjectivesCmd, newReviewsCmd, newCommunicationsCmd)
	serveFeatures = append(serveFeatures, serveFeature{name: "objectives", start: startObjectives})
}

// objectivesAPI serves the routes of objectives, KPIs, requirement reviews
// and communications: commands from the service, queries from the read
// model.
type objectivesAPI struct {
	*commands.Service
	*projections.ReadModel
}

var _ httpapi.Objectives = objectivesAPI{}

// startObjectives wires the objective routes into the API.
func startObjectives(_ context.Context, a *app, api *httpapi.Server) (func() error, error) {
	api.Objectives = objectivesAPI{Service: a.commands, ReadModel: a.reads}
	return nil, nil
}

// readFlags are the flags of the read-only commands below: their lists
// take the CLI's one --format and --output (cliformat.go).
type readFlags struct {
	store   storeFlags
	out     outputFlags
	date    string
	catchUp time.Duration
}

func (f *readFlags) register(cmd *cobra.Command, withDate bool) {
	f.store.register(cmd)
	f.out.register(cmd.Flags())
	cmd.Flags().DurationVar(&f.catchUp, "catch-up", 10*time.Minute, "how long to wait for the read model to apply the log")
	if withDate {
		cmd.Flags().StringVar(&f.date, "date", "", "the day due dates are compared with, YYYY-MM-DD (default: today, UTC)")
	}
}

// today returns --date, or today's UTC date.
func (f *readFlags) today() (string, error) {
	if f.date == "" {
		return time.Now().UTC().Format(domain.DateLayout), nil
	}
	if _, err := time.Parse(domain.DateLayout, f.date); err != nil {
		return "", fmt.Errorf("--date %q: want YYYY-MM-DD", f.date)
	}
	return f.date, nil
}

// withReads opens the database and calls read with the read model. Like
// report, a read model that has applied the log (serve keeps it so) is read
// as it stands, so this process never applies events beside a running
// serve; one behind the log (no serve running) catches up first.
func withReads(ctx context.Context, f readFlags, stderr io.Writer, read func(*projections.ReadModel) error) error {
	if _, err := f.out.resolve(io.Discard); err != nil {
		return err
	}
	if _, err := os.Stat(f.store.db); err != nil {
		return fmt.Errorf("no event log at %s: %w", f.store.db, err)
	}
	a, err := openApp(ctx, f.store, newLogger(stderr, "text", "warn"), false)
	if err != nil {
		return err
	}
	defer a.Close()
	head, _, err := a.store.Head(ctx)
	if err != nil {
		return err
	}
	cp, err := a.reads.Checkpoint(ctx)
	if err != nil {
		return err
	}
	if cp < head {
		a.follow()
		wctx, cancel := context.WithTimeout(ctx, f.catchUp)
		defer cancel()
		if err := a.reads.WaitFor(wctx, head); err != nil {
			return fmt.Errorf("read model catching up: %w", err)
		}
	}
	return read(a.reads)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func newObjectivesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "objectives",
		Short: "List information security objectives and their KPIs (clause 6.2), and open gaps",
	}
	var lf readFlags
	var status, owner string
	list := &cobra.Command{
		Use:   "list",
		Short: "List objectives with each KPI's latest value and whether it meets its target",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return withReads(c.Context(), lf, c.ErrOrStderr(), func(m *projections.ReadModel) error {
				objs, err := m.Objectives(c.Context(), projections.ObjectiveFilter{Status: status, Owner: owner})
				if err != nil {
					return err
				}
				return writeList(lf.out, c.OutOrStdout(), objectiveList(objs))
			})
		},
	}
	lf.register(list, false)
	list.Flags().StringVar(&status, "status", "", "only objectives with this status ("+strings.Join(domain.ObjectiveStatuses, ", ")+")")
	list.Flags().StringVar(&owner, "owner", "", "only objectives of this owner")

	var gf readFlags
	gaps := &cobra.Command{
		Use:   "gaps",
		Short: "List active requirements with neither a control nor an objective addressing them",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return withReads(c.Context(), gf, c.ErrOrStderr(), func(m *projections.ReadModel) error {
				gaps, err := m.OpenGaps(c.Context())
				if err != nil {
					return err
				}
				return writeList(gf.out, c.OutOrStdout(), listOf[projections.GapView]{key: "gaps", items: gaps,
					header: []string{"party", "requirement", "kind", "owner", "priority", "addressed", "party_id", "requirement_id"},
					row: func(g projections.GapView) []string {
						return []string{g.Party.Name, g.Requirement.Title, g.Requirement.Kind, g.Owner, g.Priority,
							decided(g.Addressed), g.Party.ID, g.Requirement.ID}
					}})
			})
		},
	}
	gf.register(gaps, false)
	cmd.AddCommand(list, gaps)
	return cmd
}

func decided(b *bool) string {
	switch {
	case b == nil:
		return "not yet decided"
	case *b:
		return "yes"
	}
	return "no"
}

// objectiveList is the list form of objectives: json and jsonl carry the
// objectives with their KPIs; the table groups each objective's KPIs under
// it, and csv has one row per KPI (an objective without KPIs, one row with
// the KPI columns empty).
func objectiveList(objs []projections.ObjectiveView) listOf[projections.ObjectiveView] {
	return listOf[projections.ObjectiveView]{key: "objectives", items: objs,
		table: func(w io.Writer) error { return printObjectives(w, objs) },
		csv: func(w io.Writer) error {
			cw := csv.NewWriter(w)
			_ = cw.Write([]string{"objective_id", "objective", "owner", "due", "status", "kpi_id", "kpi", "operator",
				"target", "unit", "latest", "measured_at", "meets_target"})
			for _, o := range objs {
				obj := []string{o.ID, o.Title, o.Owner, o.Due, o.Status}
				if len(o.KPIs) == 0 {
					_ = cw.Write(append(obj, make([]string, 8)...))
				}
				for _, k := range o.KPIs {
					latest, at, meets := "", "", ""
					if k.Latest != nil {
						latest, at = domain.FormatNumber(k.Latest.Value), k.Latest.MeasuredAt
					}
					if k.MeetsTarget != nil {
						meets = strconv.FormatBool(*k.MeetsTarget)
					}
					_ = cw.Write(append(slices.Clone(obj), k.ID, k.Name, k.Operator, domain.FormatNumber(k.Target), k.Unit,
						latest, at, meets))
				}
			}
			cw.Flush()
			return cw.Error()
		}}
}

// printObjectives is the table of objectives: each objective's KPIs under
// it, with the latest value and whether it meets the target.
func printObjectives(w io.Writer, objs []projections.ObjectiveView) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "OBJECTIVE\tOWNER\tDUE\tSTATUS\tKPI\tTARGET\tLATEST\tMEETS")
	for _, o := range objs {
		if len(o.KPIs) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t-\t\t\t\n", o.Title, o.Owner, o.Due, o.Status)
		}
		for i, k := range o.KPIs {
			title, owner, due, status := o.Title, o.Owner, o.Due, o.Status
			if i > 0 {
				title, owner, due, status = "", "", "", ""
			}
			latest, meets := "-", "-"
			if k.Latest != nil {
				latest = strings.TrimSpace(domain.FormatNumber(k.Latest.Value)+" "+k.Unit) + " (" + k.Latest.MeasuredAt[:10] + ")"
			}
			if k.MeetsTarget != nil {
				meets = map[bool]string{true: "yes", false: "NO"}[*k.MeetsTarget]
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", title, owner, due, status, k.Name,
				strings.TrimSpace(k.Operator+" "+domain.FormatNumber(k.Target)+" "+k.Unit), latest, meets)
		}
	}
	return tw.Flush()
}

var withinRE = regexp.MustCompile(`^([0-9]{1,5})([dw]?)$`)

// parseWithin reads "30d", "4w" or "30" as a number of days.
func parseWithin(s string) (int, error) {
	m := withinRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("--within %q: want days such as 30d or weeks such as 4w", s)
	}
	n, _ := strconv.Atoi(m[1])
	if m[2] == "w" {
		n *= 7
	}
	if n > httpapi.MaxWithinDays {
		return 0, fmt.Errorf("--within: at most %d days", httpapi.MaxWithinDays)
	}
	return n, nil
}

func newReviewsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "reviews",
		Short: "Periodic reviews of requirements (due), and management reviews (list, hold)",
	}
	var f readFlags
	var within string
	due := &cobra.Command{
		Use:   "due",
		Short: "List requirements whose review is overdue or due soon, per owner",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			today, err := f.today()
			if err != nil {
				return err
			}
			days, err := parseWithin(within)
			if err != nil {
				return err
			}
			t, _ := time.Parse(domain.DateLayout, today)
			until := t.AddDate(0, 0, days).Format(domain.DateLayout)
			return withReads(c.Context(), f, c.ErrOrStderr(), func(m *projections.ReadModel) error {
				owners, err := m.ReviewsDue(c.Context(), today, until)
				if err != nil {
					return err
				}
				actions, err := m.Actions(c.Context(), projections.ActionsOpen, today) // review_outputs.go
				if err != nil {
					return err
				}
				return writeList(f.out, c.OutOrStdout(), dueList(today, until, owners, actions))
			})
		},
	}
	f.register(due, true)
	due.Flags().StringVar(&within, "within", "30d", "also list reviews due within this many days (30d) or weeks (4w)")
	cmd.AddCommand(due)
	cmd.AddCommand(managementReviewCmds()...) // records.go
	return cmd
}

// dueRow is one line of `reviews due` in jsonl and csv: the periodic
// review of a requirement, or an open action of a management review.
type dueRow struct {
	Kind         string `json:"kind"` // requirement_review or action
	Owner        string `json:"owner"`
	Due          string `json:"due"` // YYYY-MM-DD
	Overdue      bool   `json:"overdue"`
	ID           string `json:"id"` // the requirement's or the action's
	Title        string `json:"title"`
	PartyID      string `json:"party_id,omitempty"`
	Party        string `json:"party,omitempty"`
	LastReviewed string `json:"last_reviewed,omitempty"` // YYYY-MM-DD of the requirement's last review
	Outcome      string `json:"outcome,omitempty"`       // and its outcome
	ReviewID     string `json:"review_id,omitempty"`     // the management review of the action
	Review       string `json:"review,omitempty"`        // its title and date
}

// dueList is the list form of `reviews due`: json keeps the grouped answer
// ({date, until, owners, actions}), the table prints the reviews by owner
// and then the open actions, and jsonl and csv have one dueRow per line.
func dueList(today, until string, owners []projections.OwnerReviews, actions []projections.ActionView) listOf[dueRow] {
	var rows []dueRow
	for _, o := range owners {
		for _, r := range o.Reviews {
			row := dueRow{Kind: "requirement_review", Owner: o.Owner, Due: r.ReviewDue, Overdue: r.Overdue,
				ID: r.Requirement.ID, Title: r.Requirement.Title, PartyID: r.Party.ID, Party: r.Party.Name}
			if r.LastReviewed != nil {
				row.LastReviewed = r.LastReviewed.ReviewedAt.Format(domain.DateLayout)
				row.Outcome = r.LastReviewed.Outcome
			}
			rows = append(rows, row)
		}
	}
	for _, a := range actions {
		rows = append(rows, dueRow{Kind: "action", Owner: a.Owner, Due: a.DueOn, Overdue: a.Overdue, ID: a.ID,
			Title: a.Title, ReviewID: a.ReviewID, Review: a.ReviewTitle + " (" + a.ReviewHeldOn + ")"})
	}
	return listOf[dueRow]{key: "due", items: rows,
		header: []string{"kind", "owner", "due", "overdue", "id", "title", "party_id", "party", "last_reviewed",
			"outcome", "review_id", "review"},
		row: func(r dueRow) []string {
			return []string{r.Kind, r.Owner, r.Due, strconv.FormatBool(r.Overdue), r.ID, r.Title, r.PartyID, r.Party,
				r.LastReviewed, r.Outcome, r.ReviewID, r.Review}
		},
		json: func(w io.Writer) error {
			return printJSON(w, map[string]any{"date": today, "until": until, "owners": owners, "actions": actions})
		},
		table: func(w io.Writer) error {
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "OWNER\tREVIEW DUE\tSTATE\tPARTY\tREQUIREMENT\tLAST REVIEWED")
			for _, o := range owners {
				owner := o.Owner
				if owner == "" {
					owner = "(no owner)"
				}
				for _, r := range o.Reviews {
					state, last := "due soon", "never"
					if r.Overdue {
						state = "OVERDUE"
					}
					if r.LastReviewed != nil {
						last = r.LastReviewed.ReviewedAt.Format(domain.DateLayout) + " (" + r.LastReviewed.Outcome + ")"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", owner, r.ReviewDue, state, r.Party.Name, r.Requirement.Title, last)
				}
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			printOpenActions(w, actions)
			return nil
		}}
}

func newCommunicationsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "communications",
		Short: "The communication plan and log (clause 7.4): overdue communications, what was sent",
	}
	var of readFlags
	var oparty string
	overdue := &cobra.Command{
		Use:   "overdue",
		Short: "List plan entries whose periodic communication is overdue",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			today, err := of.today()
			if err != nil {
				return err
			}
			return withReads(c.Context(), of, c.ErrOrStderr(), func(m *projections.ReadModel) error {
				entries, err := m.OverdueCommunications(c.Context(), oparty, today)
				if err != nil {
					return err
				}
				return writeList(of.out, c.OutOrStdout(), listOf[projections.PlanEntryView]{key: "overdue", items: entries,
					header: []string{"due", "party", "topic", "when", "channel", "communicator", "last_sent", "id"},
					row: func(e projections.PlanEntryView) []string {
						due, last := "", "never"
						if e.NextDue != nil {
							due = *e.NextDue
						}
						if e.LastSent != nil {
							last = *e.LastSent
						}
						return []string{due, e.Party.Name, e.Topic, e.When, e.Channel, e.Communicator, last, e.ID}
					},
					json: func(w io.Writer) error {
						if entries == nil {
							entries = []projections.PlanEntryView{}
						}
						return printJSON(w, map[string]any{"date": today, "overdue": entries})
					}})
			})
		},
	}
	of.register(overdue, true)
	overdue.Flags().StringVar(&oparty, "party", "", "only this party's plan (id)")

	var lf readFlags
	var lparty string
	log := &cobra.Command{
		Use:   "log",
		Short: "List the communications sent, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return withReads(c.Context(), lf, c.ErrOrStderr(), func(m *projections.ReadModel) error {
				cs, err := m.Communications(c.Context(), projections.CommunicationFilter{PartyID: lparty})
				if err != nil {
					return err
				}
				return writeList(lf.out, c.OutOrStdout(), listOf[projections.CommunicationView]{key: "communications", items: cs,
					header: []string{"sent", "party", "topic", "channel", "sent_by", "evidence", "id"},
					row: func(x projections.CommunicationView) []string {
						topic := "(ad hoc)"
						if x.Topic != nil {
							topic = *x.Topic
						}
						return []string{x.SentAt, x.Party.Name, topic, x.Channel, x.SentBy, x.EvidenceRef, x.ID}
					}})
			})
		},
	}
	lf.register(log, false)
	log.Flags().StringVar(&lparty, "party", "", "only communications with this party (id)")
	cmd.AddCommand(overdue, log)
	return cmd
}
