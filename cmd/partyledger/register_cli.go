package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/partyledger/partyledger/handlers/httpapi"
	"github.com/partyledger/partyledger/projections"
)

// registerConfig is what "partyledger register" shows; flags fill it.
type registerConfig struct {
	db                      string
	asOf                    string
	axis                    string
	out                     outputFlags
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

--as-of takes a date (the register at the end of that day, UTC), an RFC 3339 time
(the events stamped at or before it) or position:<n> (the first n events); before the
first event the register is empty. --axis recorded (the default) shows what the register
said then; --axis effective shows what was true then, as known now: every change recorded
so far whose effective date is on or before the --as-of date. --format csv writes one row
per requirement; --format xlsx (or --output FILE.xlsx) writes the workbook that
"partyledger import" and GET /api/v1/register?format=xlsx use.`,
		Example: `  partyledger register --as-of 2026-06-30 --output register-h1.csv
  partyledger register --as-of position:120 --format json
  partyledger register --as-of 2026-01-31 --axis effective`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRegister(cmd.Context(), cfg, cmd.OutOrStdout())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&cfg.db, "db", envOr(envDB, "./partyledger.db"), "event log SQLite file (env "+envDB+")")
	fs.StringVar(&cfg.asOf, "as-of", "", "a date, an RFC 3339 time or position:<n> (default: now)")
	fs.StringVar(&cfg.axis, "axis", string(projections.AxisRecorded), "recorded (what the register said then) or effective (what was true then, as known now)")
	cfg.out.register(fs)
	fs.StringVar(&cfg.category, "category", "", "only parties of this category")
	fs.StringVar(&cfg.scope, "scope", "", "internal or external")
	fs.StringVar(&cfg.status, "status", "", "active (default), retired or all")
	return cmd
}

func runRegister(ctx context.Context, cfg registerConfig, stdout io.Writer) error {
	xlsx := isXLSX(cfg.out)
	if !xlsx {
		if _, err := cfg.out.resolve(stdout); err != nil {
			return err
		}
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
		m, err := parseMoment("--as-of", cfg.asOf, asOfForms, true)
		if err != nil {
			return err
		}
		at = projections.AsOf{Time: m.time, Position: m.position}
	}
	axis, err := projections.ParseAxis("--axis", cfg.axis)
	if err != nil {
		return err
	}
	if axis == projections.AxisEffective && cfg.asOf == "" {
		return fmt.Errorf("--axis effective needs --as-of")
	}
	if at, err = at.WithAxis("--as-of", axis); err != nil {
		return err
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
	if ps == nil {
		ps = []projections.PartyView{}
	}
	for i := range ps {
		if ps[i].Requirements == nil {
			ps[i].Requirements = []projections.RequirementView{}
		}
	}
	if xlsx {
		return writeRegisterXLSX(ctx, store, at, upTo, ps, cfg.out, stdout)
	}
	l := partyList(ps)
	l.csv = func(w io.Writer) error { return httpapi.WriteRegisterCSV(writerResponse{w: w, h: http.Header{}}, ps) }
	return writeList(cfg.out, stdout, l)
}

// partyList is the list form of parties, shared by register and parties
// list.
func partyList(ps []projections.PartyView) listOf[projections.PartyView] {
	return listOf[projections.PartyView]{key: "parties", items: ps,
		header: []string{"id", "name", "category", "scope", "owner", "influence", "interest", "requirements", "status", "version"},
		row: func(p projections.PartyView) []string {
			return []string{p.ID, p.Name, p.Category, p.Scope, p.Owner, strconv.Itoa(p.Influence), strconv.Itoa(p.Interest),
				strconv.Itoa(len(p.Requirements)), p.Status, strconv.FormatInt(p.Version, 10)}
		}}
}

// writerResponse lets the API's CSV writer write to a plain writer.
type writerResponse struct {
	w io.Writer
	h http.Header
}

func (r writerResponse) Header() http.Header         { return r.h }
func (r writerResponse) Write(b []byte) (int, error) { return r.w.Write(b) }
func (r writerResponse) WriteHeader(int)             {}
