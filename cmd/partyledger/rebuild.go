package main

import (
	"fmt"
	"io"
	"time"

	"github.com/partyledger/partyledger/projections"
	"github.com/spf13/cobra"
)

func newRebuildCmd() *cobra.Command {
	var f storeFlags
	cmd := &cobra.Command{
		Use:   "rebuild",
		Short: "Rebuild the read model from the event log, from position 0",
		Long: `rebuild wipes the read model (register, reviews, change feed) and replays the whole
event log into it. Stop "serve" on the same files first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			logger := newLogger(cmd.ErrOrStderr(), "text", "info")
			a, _, err := openWriterApp(cmd.Context(), f, logger, false, "rebuild")
			if err != nil {
				return err
			}
			defer a.Close()
			head, _, err := a.store.Head(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "rebuilding the read model %s from %d events...\n", f.readModelPath(), head)
			start := time.Now()
			if err := a.reads.RebuildWith(cmd.Context(), projections.RebuildOptions{
				Progress: rebuildProgress(cmd.ErrOrStderr(), start, 2*time.Second)}); err != nil {
				return err
			}
			cp, err := a.reads.Checkpoint(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rebuilt: %d events applied in %s\n", cp, time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

// rebuildProgress prints a progress line at most every interval (and when
// the replay ends or the indexes are being built): position, head, percent
// and rate, so that an operator watching a long rebuild knows how long is
// left.
func rebuildProgress(w io.Writer, start time.Time, every time.Duration) func(phase string, applied, head int64) {
	last := start
	return func(phase string, applied, head int64) {
		now := time.Now()
		if phase == projections.PhaseIndexes {
			fmt.Fprintf(w, "rebuild: %d events replayed in %s; building indexes...\n", applied, now.Sub(start).Round(time.Millisecond))
			return
		}
		if now.Sub(last) < every && applied < head {
			return
		}
		last = now
		pct, rate := 100.0, 0.0
		if head > 0 {
			pct = 100 * float64(applied) / float64(head)
		}
		if s := now.Sub(start).Seconds(); s > 0 {
			rate = float64(applied) / s
		}
		fmt.Fprintf(w, "rebuild: %d/%d events (%.0f%%), %.0f events/s\n", applied, head, pct, rate)
	}
}
