package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/partyledger/partyledger/handlers/demo"
)

func newDemoCmd() *cobra.Command {
	var f storeFlags
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Load an example organisation into an empty database",
		Long: `demo loads an example organisation drawn from ISO 27001 practice: internal and
external interested parties, 30+ requirements and expectations with their sources,
addressing decisions, a management review and later changes, so that the register and
the "changes since the last management review" feed are not empty.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			logger := newLogger(cmd.ErrOrStderr(), "text", "warn")
			a, _, err := openWriterApp(cmd.Context(), f, logger, true, "demo")
			if err != nil {
				return err
			}
			defer a.Close()
			head, _, err := a.store.Head(cmd.Context())
			if err != nil {
				return err
			}
			if head > 0 {
				return fmt.Errorf("%s already holds %d events; the demo loads into an empty database (use another --db)", f.db, head)
			}
			sum, err := demo.Load(cmd.Context(), a.commands, "demo", func(msg string) {
				fmt.Fprintln(cmd.ErrOrStderr(), msg)
			}, demo.WithObjectives(), demo.WithRelationships())
			if err != nil {
				return err
			}
			if err := loadDemoContacts(cmd.Context(), a); err != nil { // reminders.go
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "demo loaded into %s: %+v\n", f.db, sum)
			return nil
		},
	}
	f.register(cmd)
	return cmd
}
