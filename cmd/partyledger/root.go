package main

import (
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// Environment variables that give flags their defaults.
const (
	envDB        = "PARTYLEDGER_DB"
	envReadModel = "PARTYLEDGER_READ_MODEL"
	envAddr      = "PARTYLEDGER_ADDR"
	envLogFormat = "PARTYLEDGER_LOG_FORMAT"
	envLogLevel  = "PARTYLEDGER_LOG_LEVEL"
)

func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// storeFlags are the flags every command that opens the database shares.
type storeFlags struct {
	db        string
	readModel string
}

func (f *storeFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.db, "db", envOr(envDB, "./partyledger.db"), "event log SQLite file (env "+envDB+")")
	cmd.Flags().StringVar(&f.readModel, "read-model", envOr(envReadModel, ""), "read-model SQLite file, rebuildable (env "+envReadModel+"; default: next to --db)")
}

// readModelPath returns the read-model file: the flag, or the event log's
// path with ".readmodel.db" in place of ".db".
func (f *storeFlags) readModelPath() string {
	if f.readModel != "" {
		return f.readModel
	}
	return strings.TrimSuffix(f.db, ".db") + ".readmodel.db"
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "partyledger",
		Short: "The ISO/IEC 27001 register of interested parties, as an append-only event log",
		Long: `partyledger keeps the register of interested parties (ISO/IEC 27001:2022 clause 4.2)
and their requirements and expectations as an append-only, attributed, hash-chained
event log, and computes the clause 9.3.2 c) feed of changes since the last management review.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newServeCmd(), newTokenCmd(), newDemoCmd(), newRebuildCmd())
	return root
}

// newLogger builds the process logger: text for people, JSON for machines.
func newLogger(w io.Writer, format, level string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
