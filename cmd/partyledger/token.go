package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/partyledger/partyledger/eventstore/sqlite"
	"github.com/partyledger/partyledger/handlers/auth"
)

func newTokenCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Create, list and revoke API tokens"}
	var db string
	var nf natsFlags
	cmd.PersistentFlags().StringVar(&db, "db", envOr(envDB, "./partyledger.db"), "event log SQLite file (env "+envDB+")")
	nf.register(cmd.PersistentFlags())
	open := func(ctx context.Context) (*auth.Tokens, func() error, error) {
		onNATS, err := nf.nats()
		if err != nil {
			return nil, nil, err
		}
		if onNATS {
			return openSharedTokens(ctx, storeFlags{db: db, nats: nf}, newLogger(cmd.ErrOrStderr(), "text", "warn"))
		}
		sdb, err := sqlite.OpenDB(db)
		if err != nil {
			return nil, nil, err
		}
		t, err := auth.NewTokens(ctx, sdb)
		if err != nil {
			sdb.Close()
			return nil, nil, err
		}
		return t, sdb.Close, nil
	}

	var name, role, expires string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a token and print only the token on stdout",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var exp *time.Time
			if expires != "" {
				t, err := time.Parse(time.RFC3339, expires)
				if err != nil {
					return fmt.Errorf("--expires must be RFC 3339, such as 2027-01-31T00:00:00Z")
				}
				exp = &t
			}
			t, closeDB, err := open(cmd.Context())
			if err != nil {
				return err
			}
			defer closeDB()
			secret, _, err := t.Create(cmd.Context(), name, role, exp)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), secret)
			return nil
		},
	}
	create.Flags().StringVar(&name, "name", "", "token name: the actor recorded on every event it writes (required)")
	create.Flags().StringVar(&role, "role", "", "role: viewer, auditor, editor or admin (required)")
	create.Flags().StringVar(&expires, "expires", "", "expiry time, RFC 3339 (default: never)")
	_ = create.MarkFlagRequired("name")
	_ = create.MarkFlagRequired("role")

	var listOut outputFlags
	list := &cobra.Command{
		Use:   "list",
		Short: "List tokens (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			t, closeDB, err := open(cmd.Context())
			if err != nil {
				return err
			}
			defer closeDB()
			all, err := t.List(cmd.Context())
			if err != nil {
				return err
			}
			return writeList(listOut, cmd.OutOrStdout(), listOf[auth.Token]{key: "tokens", items: all,
				header: []string{"name", "role", "created", "expires", "state"},
				row: func(tok auth.Token) []string {
					exp, state := "never", "active"
					if tok.ExpiresAt != nil {
						exp = tok.ExpiresAt.Format(time.RFC3339)
					}
					if tok.RevokedAt != nil {
						state = "revoked " + tok.RevokedAt.Format(time.RFC3339)
					} else if !tok.Active(time.Now()) {
						state = "expired"
					}
					return []string{tok.Name, tok.Role, tok.CreatedAt.Format(time.RFC3339), exp, state}
				}})
		},
	}
	listOut.register(list.Flags())

	revoke := &cobra.Command{
		Use:   "revoke NAME",
		Short: "Revoke a token; it is refused from the next request on",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, closeDB, err := open(cmd.Context())
			if err != nil {
				return err
			}
			defer closeDB()
			if err := t.Revoke(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "revoked %s\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}
