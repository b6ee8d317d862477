package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/partyledger/partyledger/handlers/httpapi/client"
	"github.com/partyledger/partyledger/handlers/webhooks"
	"github.com/partyledger/partyledger/projections"
)

func newWatchCmd() *cobra.Command {
	var c apiClient
	var f webhooks.Filter
	var after int64
	var raw bool
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Print changes to the register live, one line each",
		Long: `watch follows GET /api/v1/stream of a running server and prints each change to a
party or requirement as it happens: position, time, actor, what changed (from → to),
and the trigger and reason. It reconnects after a disconnect and resumes where it
stopped, so no change is missed. Stop it with Ctrl-C.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return watch(cmd.Context(), &c, f, after, raw, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	c.register(cmd.Flags())
	filterFlags(cmd.Flags(), &f)
	cmd.Flags().Int64Var(&after, "after", -1, "start after this position (default: only new changes)")
	cmd.Flags().BoolVar(&raw, "json", false, "print each change item as one line of JSON")
	return cmd
}

// errPermanent marks answers that reconnecting will not fix.
var errPermanent = errors.New("permanent")

// watch streams changes until ctx is done, reconnecting with Last-Event-ID
// after failures (1 s, doubling up to 30 s). A 4xx answer ends it.
func watch(ctx context.Context, c *apiClient, f webhooks.Filter, after int64, raw bool, stdout, stderr io.Writer) error {
	q := url.Values{}
	for name, vals := range map[string][]string{"types": f.Types, "party_ids": f.PartyIDs,
		"categories": f.Categories, "triggers": f.Triggers} {
		if len(vals) > 0 {
			q.Set(name, strings.Join(vals, ","))
		}
	}
	if after >= 0 {
		q.Set("after", strconv.FormatInt(after, 10))
	}
	lastID := ""
	pause := time.Second
	for {
		err := watchOnce(ctx, c, q, &lastID, func(it projections.ChangeItem) error {
			pause = time.Second // it works: reset the backoff
			if raw {
				b, err := json.Marshal(it)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(stdout, "%s\n", b)
				return err
			}
			_, err := fmt.Fprintln(stdout, changeLine(it))
			return err
		})
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errPermanent) {
			return err
		}
		msg := "the stream ended"
		if err != nil {
			msg = err.Error()
		}
		fmt.Fprintf(stderr, "watch: %s; reconnecting in %s\n", msg, pause)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		pause = min(2*pause, 30*time.Second)
	}
}

// watchOnce reads one connection of the stream, updating lastID.
func watchOnce(ctx context.Context, c *apiClient, q url.Values, lastID *string, fn func(projections.ChangeItem) error) error {
	cl, err := c.client()
	if err != nil {
		return fmt.Errorf("%w: %w", errPermanent, err)
	}
	err = cl.Stream(ctx, q, *lastID, func(ev client.Event) error {
		var it projections.ChangeItem
		if err := json.Unmarshal([]byte(ev.Data), &it); err != nil {
			return fmt.Errorf("bad change item: %w", err)
		}
		if err := fn(it); err != nil {
			return err
		}
		*lastID = ev.ID
		return nil
	})
	var pe *client.Error
	if errors.As(err, &pe) && pe.Status >= 400 && pe.Status < 500 && pe.Status != http.StatusTooManyRequests {
		return fmt.Errorf("%w: %w", errPermanent, err)
	}
	return err
}

// changeLine renders one change item as one readable line, such as
//
//	#42 2026-11-20 09:15:02Z alice  requirement_revised  Customers › Protect personal data: priority "medium" → "high" [risk_assessment: larger accounts]
func changeLine(it projections.ChangeItem) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d %s %s  %s  %s", it.Position, it.Time.UTC().Format("2006-01-02 15:04:05Z"), it.Actor, it.Change, it.Party.Name)
	if it.Requirement != nil {
		fmt.Fprintf(&b, " › %s", it.Requirement.Title)
	}
	var diffs []string
	if !strings.HasSuffix(it.Change, "_added") {
		for _, c := range it.Changes {
			diffs = append(diffs, fmt.Sprintf("%s %s → %s", c.Field, shortValue(c.From), shortValue(c.To)))
		}
	}
	if len(diffs) > 0 {
		b.WriteString(": " + strings.Join(diffs, ", "))
	}
	fmt.Fprintf(&b, " [%s", it.Trigger)
	if it.Reason != "" {
		b.WriteString(": " + oneLine(it.Reason, 80))
	}
	b.WriteString("]")
	return b.String()
}

// shortValue renders a field value compactly on one line.
func shortValue(v any) string {
	if v == nil {
		return "null"
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return oneLine(string(raw), 60)
}

func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > max {
		return string(r[:max-1]) + "…"
	}
	return s
}
