package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/partyledger/partyledger/eventstore/jetstream"
	"github.com/partyledger/partyledger/eventstore/sqlite"
	"github.com/partyledger/partyledger/handlers/httpapi"
	"github.com/partyledger/partyledger/handlers/webhooks"
)

// Environment variables of the webhook flags and of the API clients
// (subscriptions, watch).
const (
	envWebhooks     = "PARTYLEDGER_WEBHOOKS"
	envWebhookAllow = "PARTYLEDGER_WEBHOOK_ALLOW"
	envURL          = "PARTYLEDGER_URL"
	envToken        = "PARTYLEDGER_TOKEN"
)

// webhookOptions are serve's webhook flags. The package variable starts
// with the flags' defaults, so that tests calling runServe directly get
// them too.
type webhookOptions struct {
	deliver bool   // run the dispatcher
	allow   string // CIDR allowlist for otherwise refused addresses
}

var webhookOpts = webhookOptions{deliver: true, allow: os.Getenv(envWebhookAllow)}

func init() {
	serveFeatures = append(serveFeatures, serveFeature{name: "webhooks", flags: webhookFlags, start: startWebhooks})
	featureCommands = append(featureCommands, newSubscriptionsCmd, newWatchCmd)
}

func webhookFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&webhookOpts.deliver, "webhooks", envOr(envWebhooks, "true") == "true",
		"deliver webhooks to subscriptions; on NATS every replica may: each subscription is delivered by one replica at a time, under a lease (env "+envWebhooks+")")
	fs.StringVar(&webhookOpts.allow, "webhook-allow", envOr(envWebhookAllow, ""),
		"comma-separated CIDR prefixes webhooks may reach although they are loopback, private or link-local, such as 10.20.0.0/16 for on-premises receivers (env "+envWebhookAllow+")")
}

// startWebhooks opens the subscriptions (tables in the event log's file on
// SQLite; shared buckets on NATS, see openSubscriptions), serves the
// subscription API and the change stream, and runs the dispatcher until
// serve stops.
func startWebhooks(ctx context.Context, a *app, api *httpapi.Server) (func() error, error) {
	allow, err := webhooks.ParseAllowlist(webhookOpts.allow)
	if err != nil {
		return nil, fmt.Errorf("--webhook-allow: %w", err)
	}
	guard := &webhooks.Guard{Allow: allow}
	subs, closeSubs, err := openSubscriptions(ctx, a, guard)
	if err != nil {
		return nil, err
	}
	feed := &webhooks.Feed{Changes: a.changes}
	api.Subscriptions, api.Stream = subs, feed
	// End the live streams as soon as serve starts shutting down, so that
	// they do not hold the graceful shutdown up.
	unhook := context.AfterFunc(ctx, feed.Stop)

	dctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	if webhookOpts.deliver {
		d := &webhooks.Dispatcher{Subs: subs, Feed: feed, Guard: guard, Logger: a.logger.With("component", "webhooks")}
		if a.nats != nil {
			// Every replica runs a dispatcher; each subscription's worker
			// holds the lease webhooks.<id>, so one replica delivers it at
			// a time and another takes over when it dies.
			leases, err := leaseRunner(ctx, a, "webhooks")
			if err != nil {
				cancel()
				unhook()
				closeSubs()
				return nil, err
			}
			d.Leases = leases
		}
		wg.Go(func() { _ = d.Run(dctx) })
	}
	return func() error {
		unhook()
		feed.Stop()
		cancel()
		wg.Wait()
		return closeSubs()
	}, nil
}

// Buckets of the webhook subscriptions on NATS: the subscriptions with
// their secrets, positions and generations, and the bounded log of their
// delivery attempts and history.
const (
	webhooksBucket    = "webhooks"
	webhooksLogBucket = "webhooks_log"
)

// openSubscriptions opens the webhook subscriptions: on NATS in the shared
// buckets, so that every replica serves and delivers the same ones; on
// SQLite in tables of the event log's file.
func openSubscriptions(ctx context.Context, a *app, guard *webhooks.Guard) (*webhooks.Subscriptions, func() error, error) {
	subsKV, err := a.bucket(ctx, webhooksBucket, jetstream.BucketOptions{
		Description: "partyledger: webhook subscriptions with their signing secrets and delivery positions"})
	if err != nil {
		return nil, nil, fmt.Errorf("open the webhook subscriptions: %w", err)
	}
	if subsKV != nil {
		logKV, err := a.bucket(ctx, webhooksLogBucket, jetstream.BucketOptions{History: webhooks.KVKeepDeliveries,
			Description: "partyledger: webhook delivery attempts and subscription history (newest of each)"})
		if err != nil {
			return nil, nil, fmt.Errorf("open the webhook delivery log: %w", err)
		}
		subs := webhooks.NewKVSubscriptions(subsKV, logKV, guard, a.store)
		if err := adoptLocalSubscriptions(ctx, a, subs); err != nil {
			return nil, nil, err
		}
		return subs, func() error { return nil }, nil
	}
	db, err := sqlite.OpenDB(a.dbPath)
	if err != nil {
		return nil, nil, fmt.Errorf("open subscriptions in %s: %w", a.dbPath, err)
	}
	subs, err := webhooks.NewSubscriptions(ctx, db, guard, a.store)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return subs, db.Close, nil
}

// adoptLocalSubscriptions copies the subscriptions an earlier version kept
// in this replica's local --db into the shared buckets, if these are still
// empty (see webhooks.Subscriptions.Adopt). A database without the table is
// left untouched.
func adoptLocalSubscriptions(ctx context.Context, a *app, shared *webhooks.Subscriptions) error {
	if _, err := os.Stat(a.dbPath); err != nil {
		return nil
	}
	db, err := sqlite.OpenDB(a.dbPath)
	if err != nil {
		return fmt.Errorf("open local subscriptions in %s: %w", a.dbPath, err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'webhook_subscriptions'`).Scan(&n); err != nil || n == 0 {
		return err
	}
	local, err := webhooks.NewSubscriptions(ctx, db, nil, a.store)
	if err != nil {
		return err
	}
	copied, err := shared.Adopt(ctx, local)
	if copied > 0 {
		a.logger.Info("copied the webhook subscriptions of the local database into the shared bucket",
			"subscriptions", copied, "db", a.dbPath, "bucket", webhooksBucket)
	}
	return err
}

// subscriptionJSON is a subscription as the API shows it, with its secret
// after create and rotate-secret.
type subscriptionJSON struct {
	webhooks.Subscription
	Secret  string            `json:"secret"`
	History []webhooks.Record `json:"history"`
}

func newSubscriptionsCmd() *cobra.Command {
	var c apiClient
	cmd := &cobra.Command{
		Use:     "subscriptions",
		Aliases: []string{"subscription", "subs"},
		Short:   "Manage webhook subscriptions on a running server (through its API)",
	}
	c.register(cmd.PersistentFlags())

	var desc string
	var f webhooks.Filter
	create := &cobra.Command{
		Use:   "create URL",
		Short: "Subscribe URL; prints the id and the signing secret (shown only once)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out subscriptionJSON
			body := map[string]any{"url": args[0], "description": desc, "filter": f}
			if err := c.do(cmd.Context(), "POST", "/subscriptions", body, &out); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "id:     %s\nsecret: %s\n", out.ID, out.Secret)
			fmt.Fprintf(w, "Keep the secret: it verifies the webhook-signature header and is not shown again.\n")
			return nil
		},
	}
	create.Flags().StringVar(&desc, "description", "", "what the subscription is for")
	filterFlags(create.Flags(), &f)

	var listOut outputFlags
	list := &cobra.Command{
		Use:   "list",
		Short: "List subscriptions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct {
				Subscriptions []webhooks.Subscription `json:"subscriptions"`
			}
			if err := c.do(cmd.Context(), "GET", "/subscriptions", nil, &out); err != nil {
				return err
			}
			return writeList(listOut, cmd.OutOrStdout(), listOf[webhooks.Subscription]{key: "subscriptions", items: out.Subscriptions,
				header: []string{"id", "status", "position", "failed", "url", "description"},
				row: func(s webhooks.Subscription) []string {
					status := s.Status
					if s.DisabledReason != "" {
						status += " (" + s.DisabledReason + ")"
					}
					return []string{s.ID, status, strconv.FormatInt(s.Position, 10), strconv.Itoa(s.FailedAttempts), s.URL, s.Description}
				}})
		},
	}
	listOut.register(list.Flags())

	get := &cobra.Command{
		Use:   "get ID",
		Short: "Show a subscription and its history as JSON",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out json.RawMessage
			if err := c.do(cmd.Context(), "GET", "/subscriptions/"+args[0], nil, &out); err != nil {
				return err
			}
			return printIndented(cmd.OutOrStdout(), out)
		},
	}

	del := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a subscription",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := c.do(cmd.Context(), "DELETE", "/subscriptions/"+args[0], nil, nil); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "deleted", args[0])
			return nil
		},
	}

	rotate := &cobra.Command{
		Use:   "rotate-secret ID",
		Short: "Give a subscription a new secret (the previous one also signs for 24 h)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out subscriptionJSON
			if err := c.do(cmd.Context(), "POST", "/subscriptions/"+args[0]+"/rotate-secret", nil, &out); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "secret: %s\n", out.Secret)
			return nil
		},
	}

	enable := &cobra.Command{
		Use:   "enable ID",
		Short: "Re-enable a disabled subscription; it resumes with the event that failed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := c.do(cmd.Context(), "POST", "/subscriptions/"+args[0]+"/enable", nil, nil); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "enabled", args[0])
			return nil
		},
	}

	var from int64
	redeliver := &cobra.Command{
		Use:   "redeliver ID --from POSITION",
		Short: "Deliver again from a position (or skip ahead past a failing event)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := map[string]any{"from_position": from}
			if err := c.do(cmd.Context(), "POST", "/subscriptions/"+args[0]+"/redeliver", body, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s delivers again from position %d\n", args[0], from)
			return nil
		},
	}
	redeliver.Flags().Int64Var(&from, "from", 0, "position to deliver from (required)")
	_ = redeliver.MarkFlagRequired("from")

	var limit int
	var delOut outputFlags
	deliveries := &cobra.Command{
		Use:   "deliveries ID",
		Short: "List the latest delivery attempts, newest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct {
				Deliveries []webhooks.Delivery `json:"deliveries"`
			}
			if err := c.do(cmd.Context(), "GET", "/subscriptions/"+args[0]+"/deliveries?limit="+strconv.Itoa(limit), nil, &out); err != nil {
				return err
			}
			return writeList(delOut, cmd.OutOrStdout(), listOf[webhooks.Delivery]{key: "deliveries", items: out.Deliveries,
				header: []string{"at", "position", "attempt", "outcome", "status", "latency_ms", "next_retry", "error"},
				row: func(d webhooks.Delivery) []string {
					next := "-"
					if d.NextRetryAt != nil {
						next = d.NextRetryAt.Format(time.RFC3339)
					}
					return []string{d.At.Format(time.RFC3339), strconv.FormatInt(d.Position, 10), strconv.Itoa(d.Attempt), d.Outcome,
						strconv.Itoa(d.StatusCode), strconv.FormatInt(int64(d.LatencyMS), 10), next, d.Error}
				}})
		},
	}
	deliveries.Flags().IntVar(&limit, "limit", 20, "how many attempts (1-1000)")
	delOut.register(deliveries.Flags())

	cmd.AddCommand(create, list, get, del, rotate, enable, redeliver, deliveries)
	return cmd
}

// filterFlags registers the filter flags shared by subscriptions create and
// watch.
func filterFlags(fs *pflag.FlagSet, f *webhooks.Filter) {
	fs.StringSliceVar(&f.Types, "type", nil, "event types, such as requirement.revised (repeatable)")
	fs.StringSliceVar(&f.PartyIDs, "party", nil, "party ids (repeatable)")
	fs.StringSliceVar(&f.Categories, "category", nil, "party categories, such as supplier (repeatable)")
	fs.StringSliceVar(&f.Triggers, "trigger", nil, "triggers, such as incident (repeatable)")
}

func printIndented(w io.Writer, raw json.RawMessage) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err := buf.WriteTo(w)
	return err
}
