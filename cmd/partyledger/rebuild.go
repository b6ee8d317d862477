package main

import (
	"fmt"
	"time"

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
			if err := a.reads.Rebuild(cmd.Context()); err != nil {
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
