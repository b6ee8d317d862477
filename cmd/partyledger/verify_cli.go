package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/eventstore/checkpoint"
	"github.com/partyledger/partyledger/eventstore/sqlite"
	"github.com/partyledger/partyledger/eventstore/verify"
)

// verifyConfig is what "partyledger verify" checks; flags fill it.
type verifyConfig struct {
	db         string
	events     string // an events.jsonl instead of the database
	pack       string // an auditor pack directory
	checkpoint string
	publicKey  string
	reference  string
	stored     bool
	format     string
}

func newVerifyCmd() *cobra.Command {
	var cfg verifyConfig
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Verify the event log's hash chain, and that it still holds a signed checkpoint",
		Long: `verify walks the whole log: it recomputes every event's hash, checks that each event
links to the one before it (prev_hash), that positions run from 1 without a gap and that
each stream's versions run from 1 without a gap. That finds an edited, deleted or reordered
event at its position.

A log that was cut short, restored from an older copy, or re-hashed from an edit onwards
is consistent in itself; a checkpoint signed earlier reveals it:

  --checkpoint FILE --public-key FILE   the log must still hold the checkpoint's events
                                        unchanged: a shorter log is reported at its first
                                        missing position, a re-hashed one at the
                                        checkpoint's position;
  --reference events.jsonl              an earlier export: every event in it must still be
                                        in the log, unchanged; this locates any change at
                                        its exact position.

With --db, the checkpoints serve signed (kept in the database) are checked too when the
public key is known (--public-key, or the *.checkpoint-key.pub file next to the database).
--events FILE or --pack DIR verify an export instead of a database.

The exit status is 0 when everything verifies, 1 when something does not, 2 when the
log could not be read.`,
		Example: `  partyledger verify --db partyledger.db
  partyledger verify --db partyledger.db --checkpoint saved.note --public-key partyledger.pub
  partyledger verify --pack audit-2026-q3/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := runVerify(cmd.Context(), cfg)
			if err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "partyledger verify:", err)
				return exitError{code: 2}
			}
			if err := printVerify(cmd.OutOrStdout(), cfg.format, res); err != nil {
				return err
			}
			if !res.OK {
				return exitError{code: 1}
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&cfg.db, "db", envOr(envDB, "./partyledger.db"), "event log SQLite file (env "+envDB+")")
	fs.StringVar(&cfg.events, "events", "", "verify this events.jsonl instead of the database")
	fs.StringVar(&cfg.pack, "pack", "", "verify this auditor pack (events.jsonl, checkpoint, public-key)")
	fs.StringVar(&cfg.checkpoint, "checkpoint", "", "a signed checkpoint note the log must still hold")
	fs.StringVar(&cfg.publicKey, "public-key", "", "the key that signs checkpoints (default: next to --db)")
	fs.StringVar(&cfg.reference, "reference", "", "an earlier events.jsonl the log must still hold, unchanged")
	fs.BoolVar(&cfg.stored, "stored-checkpoints", true, "also check the checkpoints kept in the database")
	fs.StringVar(&cfg.format, "format", "text", "text or json")
	return cmd
}

// runVerify verifies what cfg names. An integrity failure is in the result;
// an error means something could not be read or a flag is wrong.
func runVerify(ctx context.Context, cfg verifyConfig) (verify.Result, error) {
	if cfg.format != "text" && cfg.format != "json" {
		return verify.Result{}, fmt.Errorf("--format %q: want text or json", cfg.format)
	}
	fromFile := cfg.events
	if cfg.pack != "" {
		fromFile = filepath.Join(cfg.pack, packEvents)
		if cfg.checkpoint == "" {
			cfg.checkpoint = filepath.Join(cfg.pack, packCheckpoint)
		}
		if cfg.publicKey == "" {
			cfg.publicKey = filepath.Join(cfg.pack, packPublicKey)
		}
	}
	v, err := verifierFor(cfg, fromFile == "")
	if err != nil {
		return verify.Result{}, err
	}
	var opts verify.Options
	if cfg.checkpoint != "" {
		if v == nil {
			return verify.Result{}, errors.New("--checkpoint needs the public key that signed it: give --public-key")
		}
		a, err := readCheckpointFile(cfg.checkpoint, v)
		if err != nil {
			return verify.Result{}, err
		}
		opts.Anchors = append(opts.Anchors, a)
	}
	if cfg.reference != "" {
		ref, closeRef, err := openReference(ctx, cfg.reference)
		if err != nil {
			return verify.Result{}, err
		}
		defer closeRef()
		opts.Reference = ref
	}

	var events iter.Seq2[eventstore.Event, error]
	if fromFile != "" {
		f, err := os.Open(fromFile)
		if err != nil {
			return verify.Result{}, err
		}
		defer f.Close()
		events = verify.FromJSONL(bufio.NewReaderSize(f, 1<<20))
	} else {
		store, err := openLog(ctx, cfg.db)
		if err != nil {
			return verify.Result{}, err
		}
		defer store.Close()
		rules := rulesOf(store)
		opts.Chain, opts.Hash, opts.AllowGaps = rules.Chain, rules.Hash, rules.AllowGaps
		if cfg.stored && v != nil {
			db, err := sqlite.OpenDB(cfg.db, sqlite.WithQueryOnly())
			if err != nil {
				return verify.Result{}, err
			}
			stored, err := checkpoint.List(ctx, db)
			db.Close()
			if err != nil {
				return verify.Result{}, err
			}
			opts.Anchors = append(opts.Anchors, storedAnchors(stored, v, nil)...)
		}
		events = verify.FromStore(ctx, store, 0, 0)
	}
	return verify.Verify(ctx, events, opts)
}

// verifierFor returns the checkpoint verifier: --public-key, or with a
// database the key files next to it; nil when there is none.
func verifierFor(cfg verifyConfig, withDB bool) (*checkpoint.Verifier, error) {
	if cfg.publicKey != "" {
		return checkpoint.ReadVerifier(cfg.publicKey)
	}
	if !withDB {
		return nil, nil
	}
	for _, p := range []string{defaultKeyPath(cfg.db) + checkpoint.PublicKeySuffix, defaultKeyPath(cfg.db)} {
		v, err := checkpoint.ReadVerifier(p)
		if err == nil {
			return v, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return nil, nil
}

// openReference checks that the reference copy is itself an intact chain
// and returns its events for verify.Options.Reference.
func openReference(ctx context.Context, path string) (iter.Seq2[eventstore.Event, error], func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	res, err := verify.Verify(ctx, verify.FromJSONL(bufio.NewReader(f)), verify.Options{})
	f.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("reference %s: %w", path, err)
	}
	if !res.OK {
		return nil, nil, fmt.Errorf("the reference copy %s is not intact itself (position %d: %s)", path,
			res.FirstFailure.Position, res.FirstFailure.Reason)
	}
	f, err = os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	return verify.FromJSONL(bufio.NewReaderSize(f, 1<<20)), func() { f.Close() }, nil
}

func printVerify(w io.Writer, format string, res verify.Result) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	summary := fmt.Sprintf("%d events, head %d %s, %d checkpoint(s) checked", res.Events,
		res.Head.Position, res.Head.Hash, res.Anchors)
	if res.Referenced > 0 {
		summary += fmt.Sprintf(", %d events compared with the reference", res.Referenced)
	}
	if res.OK {
		_, err := fmt.Fprintf(w, "OK: %s\n", summary)
		return err
	}
	_, err := fmt.Fprintf(w, "FAILED at position %d: %s\n(%s)\n", res.FirstFailure.Position, res.FirstFailure.Reason, summary)
	return err
}
