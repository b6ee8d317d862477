package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/spf13/cobra"

	"github.com/partyledger/partyledger/handlers/httpapi"
	"github.com/partyledger/partyledger/projections"
)

// registerConfig is what "partyledger register" shows; flags fill it.
type registerConfig struct {
	db                      string
	asOf                    string
	format                  string
	category, scope, status string
}

func newRegisterCmd() *cobra.Command {
	var cfg registerConfig
	cmd := &cobra.Command{
		Use:   "register",
		Short: "Print the register, now or as it stood at a past moment",
		Long: `register folds the register of interested parties from the event log, read directly
(not from the read model), and prints it as GET /api/v1/register does: active parties
with their active requirements, internal parties first, then by name.

--as-of takes an RFC 3339 time (the events stamped at or before it) or position:<n>
(the first n events); before the first event the register is empty.`,
		Example: `  partyledger register --as-of 2026-06-30T23:59:59Z --format csv > register-h1.csv
  partyledger register --as-of position:120`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRegister(cmd.Context(), cfg, cmd.OutOrStdout())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&cfg.db, "db", envOr(envDB, "./partyledger.db"), "event log SQLite file (env "+envDB+")")
	fs.StringVar(&cfg.asOf, "as-of", "", "RFC 3339 time or position:<n> (default: now)")
	fs.StringVar(&cfg.format, "format", "json", "json or csv")
	fs.StringVar(&cfg.category, "category", "", "only parties of this category")
	fs.StringVar(&cfg.scope, "scope", "", "internal or external")
	fs.StringVar(&cfg.status, "status", "", "active (default), retired or all")
	return cmd
}

func runRegister(ctx context.Context, cfg registerConfig, stdout io.Writer) error {
	if cfg.format != "json" && cfg.format != "csv" {
		return fmt.Errorf("--format %q: want json or csv", cfg.format)
	}
	store, err := openLog(ctx, cfg.db)
	if err != nil {
		return err
	}
	defer store.Close()
	head, _, err := store.Head(ctx)
	if err != nil {
		return err
	}
	at := projections.AsOf{Position: head}
	if cfg.asOf != "" {
		if at, err = projections.ParseAsOf("--as-of", cfg.asOf); err != nil {
			return err
		}
	}
	upTo := head
	if at.Time.IsZero() {
		upTo = min(at.Position, head)
	}
	snap, err := projections.FoldRegister(ctx, store, at, upTo)
	if err != nil {
		return err
	}
	ps, err := snap.Register(projections.PartyFilter{Category: cfg.category, Scope: cfg.scope, Status: cfg.status})
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	if cfg.format == "csv" {
		return httpapi.WriteRegisterCSV(writerResponse{w: w, h: http.Header{}}, ps)
	}
	if ps == nil {
		ps = []projections.PartyView{}
	}
	for i := range ps {
		if ps[i].Requirements == nil {
			ps[i].Requirements = []projections.RequirementView{}
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(map[string]any{"parties": ps})
}

// writerResponse lets the API's CSV writer write to a plain writer.
type writerResponse struct {
	w io.Writer
	h http.Header
}

func (r writerResponse) Header() http.Header         { return r.h }
func (r writerResponse) Write(b []byte) (int, error) { return r.w.Write(b) }
func (r writerResponse) WriteHeader(int)             {}
