package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/commands"
	"github.com/partyledger/partyledger/handlers/httpapi"
	"github.com/partyledger/partyledger/projections"
)

func init() {
	featureCommands = append(featureCommands, newSettingsCmd)
	serveFeatures = append(serveFeatures, serveFeature{name: "review outputs", start: startReviewOutputs})
}

// reviewOutputsAPI serves corrections and voids of reviews, their actions
// and the settings: commands from the service, queries from the read model.
type reviewOutputsAPI struct {
	*commands.Service
	*projections.ReadModel
}

var _ httpapi.ReviewOutputs = reviewOutputsAPI{}

func startReviewOutputs(_ context.Context, a *app, api *httpapi.Server) (func() error, error) {
	api.ReviewOutputs = reviewOutputsAPI{Service: a.commands, ReadModel: a.reads}
	return nil, nil
}

// settingNames maps the CLI's setting names to what they set.
var settingNames = map[string]func(*domain.ChangeSettings, string){
	"org-name": func(c *domain.ChangeSettings, v string) { c.OrgName = &v },
}

func newSettingsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "settings",
		Short: "Show or change the stored settings (organisation name, ...)",
		Long: `settings shows or changes the settings stored in the event log, such as the
organisation's name on reports. A change is an event, attributed and kept in history.`,
	}
	var f storeFlags
	var reason, by string
	set := &cobra.Command{
		Use:     "set NAME VALUE",
		Short:   "Change one setting (org-name)",
		Example: `  partyledger settings set org-name "Acme Payments Ltd"`,
		Args:    cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			apply, ok := settingNames[args[0]]
			if !ok {
				return fmt.Errorf("unknown setting %q: want org-name", args[0])
			}
			cmd := domain.ChangeSettings{Meta: domain.Meta{Actor: by, Reason: reason}}
			apply(&cmd, args[1])
			return withApp(c.Context(), f, c, func(a *app) error {
				if _, err := a.commands.ChangeSettings(c.Context(), cmd); err != nil {
					return err
				}
				st, err := a.reads.Settings(c.Context())
				if err != nil {
					return err
				}
				fmt.Fprintf(c.OutOrStdout(), "org-name: %s\n", st.OrgName)
				return nil
			})
		},
	}
	f.register(set)
	set.Flags().StringVar(&reason, "reason", "", "why the setting changes")
	set.Flags().StringVar(&by, "by", defaultReportAuthor(), "who changes it, as the log records them")
	var sf storeFlags
	show := &cobra.Command{
		Use:   "show",
		Short: "Show the settings",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return withApp(c.Context(), sf, c, func(a *app) error {
				st, err := a.reads.Settings(c.Context())
				if err != nil {
					return err
				}
				fmt.Fprintf(c.OutOrStdout(), "org-name: %s\n", st.OrgName)
				return nil
			})
		},
	}
	sf.register(show)
	cmd.AddCommand(set, show)
	return cmd
}

// withApp opens the database with the read model following the log, waits
// until it has applied the head, and runs fn.
func withApp(ctx context.Context, f storeFlags, c *cobra.Command, fn func(*app) error) error {
	if _, err := os.Stat(f.db); err != nil {
		return fmt.Errorf("no event log at %s: %w", f.db, err)
	}
	a, err := openApp(ctx, f, newLogger(c.ErrOrStderr(), "text", "warn"), true)
	if err != nil {
		return err
	}
	defer a.Close()
	head, _, err := a.store.Head(ctx)
	if err != nil {
		return err
	}
	if err := a.reads.WaitFor(ctx, head); err != nil {
		return err
	}
	if err := fn(a); err != nil {
		return fmt.Errorf("%s: %w", strings.TrimSpace(c.CommandPath()), err)
	}
	return nil
}

// printOpenActions lists the open actions of management reviews under
// `reviews due`, overdue ones marked.
func printOpenActions(w io.Writer, actions []projections.ActionView) {
	if len(actions) == 0 {
		return
	}
	fmt.Fprintln(w, "\nOpen actions of management reviews (9.3.3):")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "OWNER\tDUE\tSTATE\tACTION\tREVIEW")
	for _, a := range actions {
		state := "open"
		if a.Overdue {
			state = "OVERDUE"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s (%s)\n", a.Owner, a.DueOn, state, a.Title, a.ReviewTitle, a.ReviewHeldOn)
	}
	_ = tw.Flush()
}
