package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/demo"
	"github.com/partyledger/partyledger/handlers/httpapi"
	"github.com/partyledger/partyledger/handlers/reminders"
)

// Environment variables of the reminder flags.
const (
	envSMTPAddr         = "PARTYLEDGER_SMTP_ADDR"
	envSMTPFrom         = "PARTYLEDGER_SMTP_FROM"
	envSMTPUser         = "PARTYLEDGER_SMTP_USER"
	envSMTPPasswordFile = "PARTYLEDGER_SMTP_PASSWORD_FILE"
	envSMTPTLS          = "PARTYLEDGER_SMTP_TLS"
	envRemindersAt      = "PARTYLEDGER_REMINDERS_AT"
	envRemindersTZ      = "PARTYLEDGER_REMINDERS_TZ"
	envUndecidedAfter   = "PARTYLEDGER_UNDECIDED_AFTER"
	envRemindersURL     = "PARTYLEDGER_REMINDERS_BASE_URL"
)

// reminderOptions are the SMTP and schedule flags, shared by serve and
// remind. The package variable starts with the defaults so that tests
// calling runServe directly get them too.
type reminderOptions struct {
	smtpAddr, smtpFrom, smtpUser, smtpPasswordFile, smtpTLS string
	at, tz, baseURL                                         string
	undecidedAfter                                          time.Duration
}

var reminderOpts = reminderOptions{smtpTLS: "starttls", tz: "UTC", undecidedAfter: reminders.DefaultUndecidedAfter}

func init() {
	serveFeatures = append(serveFeatures, serveFeature{name: "reminders", flags: reminderFlags, start: startReminders})
	featureCommands = append(featureCommands, newRemindCmd)
}

func reminderFlags(fs *pflag.FlagSet) {
	o := &reminderOpts
	fs.StringVar(&o.smtpAddr, "smtp-addr", envOr(envSMTPAddr, ""), "SMTP server host:port for reminder digests; none: no e-mail (env "+envSMTPAddr+")")
	fs.StringVar(&o.smtpFrom, "smtp-from", envOr(envSMTPFrom, "partyledger@localhost"), "From address of reminder digests (env "+envSMTPFrom+")")
	fs.StringVar(&o.smtpUser, "smtp-user", envOr(envSMTPUser, ""), "SMTP user name; empty: no authentication (env "+envSMTPUser+")")
	fs.StringVar(&o.smtpPasswordFile, "smtp-password-file", envOr(envSMTPPasswordFile, ""), "file holding the SMTP password (env "+envSMTPPasswordFile+")")
	fs.StringVar(&o.smtpTLS, "smtp-tls", envOr(envSMTPTLS, "starttls"), "SMTP transport security: starttls, tls or none (env "+envSMTPTLS+")")
	fs.StringVar(&o.at, "reminders-at", envOr(envRemindersAt, ""), "send reminder digests daily at HH:MM; with --smtp-addr (env "+envRemindersAt+")")
	fs.StringVar(&o.tz, "reminders-tz", envOr(envRemindersTZ, "UTC"), "time zone of --reminders-at and of the daily window, such as Europe/Berlin (env "+envRemindersTZ+")")
	fs.DurationVar(&o.undecidedAfter, "undecided-after", envDuration(envUndecidedAfter, reminders.DefaultUndecidedAfter),
		"remind owners of requirements undecided for longer than this (env "+envUndecidedAfter+")")
	fs.StringVar(&o.baseURL, "reminders-base-url", envOr(envRemindersURL, ""), "public address of the console, prefixed to the links in digests (env "+envRemindersURL+")")
}

// reminderService builds the reminders over a's store and read model.
func reminderService(a *app, o reminderOptions) (*reminders.Service, error) {
	loc, err := time.LoadLocation(o.tz)
	if err != nil {
		return nil, fmt.Errorf("--reminders-tz %q: %w", o.tz, err)
	}
	if o.undecidedAfter <= 0 {
		return nil, fmt.Errorf("--undecided-after must be positive")
	}
	cts := &reminders.Contacts{Log: a.store, Index: a.reads}
	plan := &reminders.Planner{Sources: a.reads, Actions: actionsSource(a), UndecidedAfter: o.undecidedAfter}
	run := &reminders.Runner{Log: a.store, Planner: plan, Contacts: cts, From: o.smtpFrom, BaseURL: o.baseURL,
		Location: loc, Logger: a.logger.With("component", "reminders")}
	if o.smtpAddr != "" {
		m := &reminders.SMTP{Addr: o.smtpAddr, TLS: o.smtpTLS, User: o.smtpUser}
		if err := m.Validate(); err != nil {
			return nil, err
		}
		if o.smtpPasswordFile != "" {
			b, err := os.ReadFile(o.smtpPasswordFile)
			if err != nil {
				return nil, fmt.Errorf("--smtp-password-file: %w", err)
			}
			m.Password = strings.TrimRight(string(b), "\r\n")
		}
		run.Mailer = m
	}
	return &reminders.Service{Contacts: cts, Planner: plan, Runner: run}, nil
}

// actionsSource returns the open management-review actions for the digests.
func actionsSource(a *app) reminders.Actions { return reminders.ReviewActions{Reads: a.reads} }

// startReminders serves the owner and reminder routes and, when both
// --smtp-addr and --reminders-at are set, runs the daily schedule (never a
// run at start-up).
func startReminders(ctx context.Context, a *app, api *httpapi.Server) (func() error, error) {
	o := reminderOpts
	svc, err := reminderService(a, o)
	if err != nil {
		return nil, err
	}
	api.Reminders = svc
	if o.smtpAddr == "" || o.at == "" {
		if o.at != "" {
			a.logger.Warn("--reminders-at without --smtp-addr: no reminder schedule")
		}
		return nil, nil
	}
	h, m, err := reminders.ParseAt(o.at)
	if err != nil {
		return nil, fmt.Errorf("--reminders-at %w", err)
	}
	sched := &reminders.Schedule{Hour: h, Minute: m, Location: svc.Runner.Location, Logger: svc.Runner.Logger,
		Run: func(ctx context.Context) error {
			rep, err := svc.Run(ctx, reminders.RunOptions{})
			if err == nil {
				svc.Runner.Logger.Info("reminder digests", "window", rep.Window, "digests", len(rep.Digests))
			}
			return err
		}}
	// On NATS one replica at a time runs the schedule (lease "reminders");
	// the claim of each (owner, window) in the log stays the guarantee
	// that no digest goes out twice, even if two ran.
	leases, err := leaseRunner(ctx, a, "reminders")
	if err != nil {
		return nil, err
	}
	stop := runLeased(leases, leaseReminders, func(ctx context.Context) error {
		sched.Loop(ctx)
		return ctx.Err()
	})
	a.logger.Info("reminder schedule", "at", o.at, "tz", o.tz, "smtp", o.smtpAddr)
	return func() error { stop(); return nil }, nil
}

func newRemindCmd() *cobra.Command {
	var f readFlags
	var dry bool
	var owner string
	cmd := &cobra.Command{
		Use:   "remind",
		Short: "Send each owner one digest of what is due now (or, with --dry-run, list what would be sent)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runRemind(c.Context(), f, reminderOpts, reminders.RunOptions{DryRun: dry, Owner: owner}, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	f.register(cmd, false)
	reminderFlags(cmd.Flags())
	cmd.Flags().BoolVar(&dry, "dry-run", false, "send nothing and record nothing; list what would be sent")
	cmd.Flags().StringVar(&owner, "owner", "", "only this owner")
	return cmd
}

func runRemind(ctx context.Context, f readFlags, o reminderOptions, ro reminders.RunOptions, stdout, stderr io.Writer) error {
	format, err := f.out.resolve(stdout)
	if err != nil {
		return err
	}
	if format != "table" && format != "json" {
		return fmt.Errorf("--format %q: the digest report is table or json", format)
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
	if cp, err := a.reads.Checkpoint(ctx); err != nil {
		return err
	} else if cp < head {
		a.follow()
		wctx, cancel := context.WithTimeout(ctx, f.catchUp)
		defer cancel()
		if err := a.reads.WaitFor(wctx, head); err != nil {
			return fmt.Errorf("read model catching up: %w", err)
		}
	}
	svc, err := reminderService(a, o)
	if err != nil {
		return err
	}
	if ro.Actor == "" {
		ro.Actor = "cli:" + currentUser()
	}
	rep, err := svc.Run(ctx, ro)
	if err != nil {
		return err
	}
	if format == "json" {
		return printJSON(stdout, rep)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "WINDOW %s%s\n", rep.Window, map[bool]string{true: " (dry run: nothing sent)", false: ""}[rep.DryRun])
	fmt.Fprintln(tw, "OWNER\tSTATUS\tITEMS\tRECIPIENTS\tMESSAGE ID / ERROR")
	for _, d := range rep.Digests {
		detail := d.MessageID
		if d.Error != "" {
			detail = d.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", d.Owner, d.Status, len(d.Items), strings.Join(d.Recipients, ", "), detail)
	}
	return tw.Flush()
}

// currentUser names the operating-system user for the events a CLI run
// records.
func currentUser() string {
	for _, k := range []string{"USER", "LOGNAME"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return "unknown"
}

// loadDemoContacts gives the demo's owners their example.com addresses.
func loadDemoContacts(ctx context.Context, a *app) error {
	cts := &reminders.Contacts{Log: a.store, Index: a.reads}
	return demo.LoadOwnerContacts(ctx, func(ctx context.Context, owner string, emails []string, m domain.Meta) error {
		_, err := cts.Set(ctx, owner, emails, m)
		return err
	}, "demo")
}
