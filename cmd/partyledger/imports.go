package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/partyledger/partyledger/handlers/httpapi"
	"github.com/partyledger/partyledger/handlers/httpapi/client"
)

func init() {
	serveFeatures = append(serveFeatures, serveFeature{name: "import", start: startImports})
	featureCommands = append(featureCommands, newImportCmd)
}

// startImports serves POST /api/v1/imports and the XLSX register through
// the one command service.
func startImports(_ context.Context, a *app, api *httpapi.Server) (func() error, error) {
	api.Imports = a.commands
	return nil, nil
}

// importConfig is what "partyledger import" sends; flags fill it.
type importConfig struct {
	api           apiClient
	dryRun        bool
	sheet         string
	mapping       string
	reason        string
	retireMissing bool
}

func newImportCmd() *cobra.Command {
	var cfg importConfig
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Import a register from a spreadsheet (.xlsx or .csv) into a running server",
		Long: `import uploads FILE to POST /api/v1/imports of a running server and prints the plan:
what it adds, revises and leaves unchanged, each change with its row, and every error and
warning with its cell. With --dry-run nothing is written. Without it, the import is all or
nothing: a file with any error writes nothing (exit status 1); otherwise every change is
appended atomically. Importing the same file again writes nothing.`,
		Example: `  partyledger import register.xlsx --dry-run
  partyledger import stakeholders.csv --mapping mapping.json --reason "migration from the 2025 workbook"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runImport(cmd.Context(), cfg, args[0], cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fs := cmd.Flags()
	cfg.api.register(fs)
	fs.BoolVar(&cfg.dryRun, "dry-run", false, "plan only: write nothing")
	fs.StringVar(&cfg.sheet, "sheet", "", "the worksheet to read (default: the first with a recognisable header)")
	fs.StringVar(&cfg.mapping, "mapping", "", "a JSON file mapping columns and values (see docs/import.md)")
	fs.StringVar(&cfg.reason, "reason", "", `the reason on every event (default "import of FILE")`)
	fs.BoolVar(&cfg.retireMissing, "retire-missing", false, "retire the active parties and requirements the file does not list")
	return cmd
}

// progressThreshold is the upload size above which import shows progress.
const progressThreshold = 1 << 20

func runImport(ctx context.Context, cfg importConfig, file string, stdout, stderr io.Writer) error {
	cl, err := cfg.api.client()
	if err != nil {
		return err
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	req := client.ImportRequest{Filename: file, File: data, Sheet: cfg.sheet, Reason: cfg.reason,
		RetireMissing: cfg.retireMissing, DryRun: cfg.dryRun}
	if cfg.mapping != "" {
		if req.Mapping, err = os.ReadFile(cfg.mapping); err != nil {
			return fmt.Errorf("--mapping: %w", err)
		}
	}
	if len(data) > progressThreshold {
		last := -1
		req.Progress = func(sent, total int64) {
			if pct := int(sent * 100 / total); pct/5 != last/5 {
				last = pct
				fmt.Fprintf(stderr, "\rupload [%-20s] %3d%%", strings.Repeat("#", pct/5), pct)
				if sent == total {
					fmt.Fprintln(stderr, " — planning and writing on the server…")
				}
			}
		}
	}
	plan, err := cl.Import(ctx, req)
	if plan == nil {
		return err
	}
	printPlan(stdout, plan, cfg.dryRun && err == nil)
	var ce *client.Error
	if errors.As(err, &ce) && ce.Status == 422 {
		return fmt.Errorf("the file has %d errors: nothing was written", len(plan.Errors))
	}
	return err
}

// printPlan prints an import plan for people: the counts, the errors and
// warnings with their cells, then each change.
func printPlan(w io.Writer, p *client.ImportPlan, dry bool) {
	verb := "imported"
	if dry {
		verb = "dry run (nothing written)"
	} else if len(p.Errors) > 0 {
		verb = "refused (nothing written)"
	}
	fmt.Fprintf(w, "%s\n", verb)
	counts := func(name string, c client.ImportCounts) {
		fmt.Fprintf(w, "  %-13s %d added, %d revised, %d unchanged", name+":", c.Added, c.Revised, c.Unchanged)
		if c.Retired > 0 {
			fmt.Fprintf(w, ", %d retired", c.Retired)
		}
		fmt.Fprintln(w)
	}
	counts("parties", p.Parties)
	counts("requirements", p.Requirements)
	issues := func(title string, is []client.ImportIssue) {
		if len(is) == 0 {
			return
		}
		fmt.Fprintf(w, "%s (%d):\n", title, len(is))
		for _, i := range is {
			at := i.Sheet
			if i.Cell != "" {
				at += "!" + i.Cell
			} else if i.Row > 0 {
				at += fmt.Sprintf(" row %d", i.Row)
			}
			fmt.Fprintf(w, "  %s: %s\n", strings.TrimPrefix(at, " "), i.Message)
		}
	}
	issues("errors", p.Errors)
	issues("warnings", p.Warnings)
	if len(p.Items) > 0 {
		fmt.Fprintf(w, "changes (%d):\n", len(p.Items))
	}
	for _, it := range p.Items {
		what := it.Party
		if it.Requirement != "" {
			what += " / " + it.Requirement
		}
		fmt.Fprintf(w, "  row %-5d %-19s %s", it.Row, it.Action, what)
		if it.Action != "add_party" && it.Action != "add_requirement" {
			for _, f := range slices.Sorted(maps.Keys(it.Changes)) {
				fmt.Fprintf(w, "\n            %s: %s", f, it.Changes[f])
			}
		}
		fmt.Fprintln(w)
	}
}
