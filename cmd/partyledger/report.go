package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/partyledger/partyledger/eventstore/checkpoint"
	"github.com/partyledger/partyledger/eventstore/sqlite"
	"github.com/partyledger/partyledger/handlers/httpapi"
	"github.com/partyledger/partyledger/handlers/report"
)

// envOrgName gives --org-name its default: the organisation named on
// change reports.
const envOrgName = "PARTYLEDGER_ORG_NAME"

// reportOrgName is serve's --org-name.
var reportOrgName string

func init() {
	featureCommands = append(featureCommands, newReportCmd)
	serveFeatures = append(serveFeatures, serveFeature{name: "change report", flags: reportFlags, start: startReports})
}

func reportFlags(fs *pflag.FlagSet) {
	fs.StringVar(&reportOrgName, "org-name", envOr(envOrgName, ""),
		"organisation named on the change report, overriding the stored setting (env "+envOrgName+")")
}

// startReports serves GET /api/v1/reports/changes. The integrity footer
// names the latest signed checkpoint when the audit feature has made one.
func startReports(ctx context.Context, a *app, api *httpapi.Server) (func() error, error) {
	notes, err := openCheckpointNotes(a.dbPath)
	if err != nil {
		return nil, err
	}
	var latest report.Checkpointer = notes
	if shared, err := sharedCheckpointNotes(ctx, a); err != nil { // on NATS (audit.go)
		notes.db.Close()
		return nil, err
	} else if shared != nil {
		latest = shared
	}
	api.Reports = &report.Builder{Reads: a.reads, Log: a.store, Organisation: reportOrgName, Checkpoints: latest}
	return notes.db.Close, nil
}

// checkpointNotes reads the latest signed checkpoint note from the audit
// checkpoints table in the event log's file, read-only: a log without the
// table has none.
type checkpointNotes struct{ db *sql.DB }

func openCheckpointNotes(dbPath string) (checkpointNotes, error) {
	db, err := sqlite.OpenDB(dbPath, sqlite.WithQueryOnly())
	if err != nil {
		return checkpointNotes{}, fmt.Errorf("open checkpoints in %s: %w", dbPath, err)
	}
	return checkpointNotes{db: db}, nil
}

// LatestCheckpoint returns the signed note of the checkpoint at the highest
// position, or "" when there is none.
func (c checkpointNotes) LatestCheckpoint(ctx context.Context) (string, error) {
	all, err := checkpoint.List(ctx, c.db)
	if err != nil || len(all) == 0 {
		return "", err
	}
	return all[len(all)-1].Note, nil
}

// reportConfig is what the report command needs; flags fill it.
type reportConfig struct {
	store        storeFlags
	since, until string
	format       string
	output       string
	org          string
	by           string
	catchUp      time.Duration
}

func newReportCmd() *cobra.Command {
	var cfg reportConfig
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Write the management review change report (clause 9.3.2 c)",
		Long: `report writes the report of changes in needs and expectations of interested parties
(ISO/IEC 27001:2022 clause 9.3.2 c) for a management review, reading the database
directly: summary counts, the net changes per party with who, when, why and the
events behind each line, requirements not yet decided or past their review date,
retired parties with open requirements, and the log head for integrity.

--since: last-review (default), beginning, review:<id>, position:<n>, a date or an RFC 3339 time.
--until: now (default), review:<id>, position:<n>, a date (the whole day) or an RFC 3339 time.
--format: md, html, pdf, csv or xlsx (default: from the -o file's extension, else md).`,
		Example: `  partyledger report --db partyledger.db --format pdf -o review-q3.pdf
  partyledger report --since review:<id> --until now --format xlsx -o changes.xlsx`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReport(cmd.Context(), cfg, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cfg.store.register(cmd)
	fs := cmd.Flags()
	fs.StringVar(&cfg.since, "since", "last-review", "start of the window, excluded")
	fs.StringVar(&cfg.until, "until", "now", "end of the window, included")
	fs.StringVarP(&cfg.format, "format", "f", "", "md, html, pdf, csv or xlsx")
	fs.StringVarP(&cfg.output, "output", "o", "-", "file to write; - for stdout")
	fs.StringVar(&cfg.org, "org-name", envOr(envOrgName, ""), "organisation named on the report, overriding the stored setting (env "+envOrgName+")")
	fs.StringVar(&cfg.by, "by", defaultReportAuthor(), "who generates the report, as the report names them")
	fs.DurationVar(&cfg.catchUp, "catch-up", 10*time.Minute, "how long to wait for the read model to apply the log")
	return cmd
}

// defaultReportAuthor is the operating system user, marked as the CLI.
func defaultReportAuthor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username + " (cli)"
	}
	return "cli"
}

// reportFormat picks the format: the flag, or the output file's extension,
// or Markdown (stdout, or a file without an extension). An output file
// whose extension is not a report format (report.docx) is refused rather
// than written as something else.
func reportFormat(flag, output string) (report.Format, error) {
	var fromExt report.Format
	if ext := strings.TrimPrefix(filepath.Ext(output), "."); output != "-" && ext != "" {
		f, err := report.ParseFormat(strings.ToLower(ext))
		if err != nil {
			return "", fmt.Errorf("-o %q: .%s is not a report format; use .md, .html, .pdf, .csv or .xlsx", output, ext)
		}
		fromExt = f
	}
	if flag == "" {
		if fromExt != "" {
			return fromExt, nil
		}
		return report.Markdown, nil
	}
	f, err := report.ParseFormat(flag)
	if err != nil {
		return "", fmt.Errorf("--format %q: must be one of md, html, pdf, csv, xlsx", flag)
	}
	if fromExt != "" && fromExt != f {
		return "", fmt.Errorf("--format %s does not match -o %q", flag, output)
	}
	return f, nil
}

func runReport(ctx context.Context, cfg reportConfig, stdout, stderr io.Writer) error {
	f, err := reportFormat(cfg.format, cfg.output)
	if err != nil {
		return err
	}
	if _, err := os.Stat(cfg.store.db); err != nil {
		return fmt.Errorf("no event log at %s: %w", cfg.store.db, err)
	}
	logger := newLogger(stderr, "text", "warn")
	a, err := openApp(ctx, cfg.store, logger, false)
	if err != nil {
		return err
	}
	defer a.Close()
	// A read model that has applied the log (serve keeps it so) is read as
	// it is, up to the head read now: this process then never applies events
	// beside a running serve, whose projections cache what they wrote. A read
	// model behind the log (no serve running) catches up first.
	var log report.Log = a.store
	head, hash, err := a.store.Head(ctx)
	if err != nil {
		return err
	}
	cp, err := a.reads.Checkpoint(ctx)
	if err != nil {
		return err
	}
	if cp >= head {
		log = pinnedHead{head, hash}
	} else {
		a.follow()
	}
	notes, err := openCheckpointNotes(a.dbPath)
	if err != nil {
		return err
	}
	defer notes.db.Close()
	b := &report.Builder{Reads: a.reads, Log: log, Checkpoints: notes, Organisation: cfg.org, CatchUp: cfg.catchUp}
	since, err := parseMoment("--since", cfg.since, sinceForms, false)
	if err != nil {
		return err
	}
	until, err := parseMoment("--until", cfg.until, untilForms, true)
	if err != nil {
		return err
	}
	rep, err := b.Build(ctx, report.Request{Since: since.window(), Until: until.window(), GeneratedBy: cfg.by})
	if err != nil {
		return fmt.Errorf("build the report: %w", err)
	}
	if cfg.output == "-" || cfg.output == "" {
		return report.Render(stdout, rep, f)
	}
	if err := writeFileAtomic(cfg.output, func(w io.Writer) error { return report.Render(w, rep, f) }); err != nil {
		return fmt.Errorf("write %s: %w", cfg.output, err)
	}
	fmt.Fprintf(stderr, "wrote %s (%s, %d changes, %s)\n", cfg.output, f, rep.Events, rep.WindowText())
	return nil
}

// pinnedHead is a log head read once: the report covers the log up to it.
type pinnedHead struct {
	position int64
	hash     string
}

func (h pinnedHead) Head(context.Context) (int64, string, error) { return h.position, h.hash, nil }

// writeFileAtomic writes a file through a temporary file in the same
// directory, renamed into place once complete: a failed report leaves no
// half-written file behind.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
