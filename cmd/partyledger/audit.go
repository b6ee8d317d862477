package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/partyledger/partyledger/eventstore/checkpoint"
	"github.com/partyledger/partyledger/eventstore/jetstream"
	"github.com/partyledger/partyledger/eventstore/sqlite"
	"github.com/partyledger/partyledger/eventstore/verify"
	"github.com/partyledger/partyledger/handlers/httpapi"
	"github.com/partyledger/partyledger/handlers/report"
	"github.com/partyledger/partyledger/projections"
)

// Environment variables of the audit flags.
const (
	envCheckpoints           = "PARTYLEDGER_CHECKPOINTS"
	envCheckpointKey         = "PARTYLEDGER_CHECKPOINT_KEY"
	envCheckpointOrigin      = "PARTYLEDGER_CHECKPOINT_ORIGIN"
	envCheckpointEveryEvents = "PARTYLEDGER_CHECKPOINT_EVERY_EVENTS"
	envCheckpointEvery       = "PARTYLEDGER_CHECKPOINT_EVERY"
)

// auditOptions are serve's checkpoint flags. The package variable starts
// with the flags' defaults, so that tests calling runServe directly get
// them too.
type auditOptions struct {
	checkpoints bool          // sign checkpoints
	keyPath     string        // "" = next to the database
	origin      string        // the notes' first line and the new key's name
	everyEvents int64         // a checkpoint every this many events
	every       time.Duration // or this often, when the head moved
	poll        time.Duration // how often to look whether one is due
}

var auditOpts = auditOptions{
	checkpoints: envOr(envCheckpoints, "true") == "true",
	keyPath:     os.Getenv(envCheckpointKey),
	origin:      envOr(envCheckpointOrigin, checkpoint.DefaultOrigin),
	everyEvents: envInt(envCheckpointEveryEvents, checkpoint.DefaultEveryEvents),
	every:       envDuration(envCheckpointEvery, checkpoint.DefaultEvery),
	poll:        time.Second,
}

func envInt(name string, def int64) int64 {
	if n, err := strconv.ParseInt(os.Getenv(name), 10, 64); err == nil {
		return n
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return d
	}
	return def
}

func init() {
	serveFeatures = append(serveFeatures, serveFeature{name: "audit trail", flags: auditFlags, start: startAudit})
	featureCommands = append(featureCommands, newAuditCmd, newVerifyCmd, newRegisterCmd)
}

func auditFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&auditOpts.checkpoints, "checkpoints", auditOpts.checkpoints,
		"sign checkpoints of the log with an Ed25519 key (env "+envCheckpoints+")")
	fs.StringVar(&auditOpts.keyPath, "checkpoint-key", auditOpts.keyPath,
		"checkpoint signing key, created on first start (env "+envCheckpointKey+"; default: next to --db as *.checkpoint-key, public key *.checkpoint-key.pub)")
	fs.StringVar(&auditOpts.origin, "checkpoint-origin", auditOpts.origin,
		"the log's name on its checkpoints, and the new key's name (env "+envCheckpointOrigin+")")
	fs.Int64Var(&auditOpts.everyEvents, "checkpoint-every-events", auditOpts.everyEvents,
		"sign a checkpoint every this many events (env "+envCheckpointEveryEvents+")")
	fs.DurationVar(&auditOpts.every, "checkpoint-every", auditOpts.every,
		"or this often, when there are new events (env "+envCheckpointEvery+")")
}

// defaultKeyPath is the checkpoint key beside the event log: the log's path
// with ".checkpoint-key" in place of ".db".
func defaultKeyPath(db string) string {
	return strings.TrimSuffix(db, ".db") + ".checkpoint-key"
}

// verifyRuler is implemented by stores that hash and link their events
// otherwise than the SQLite store (the JetStream store chains each stream,
// hashes with its own encoding and may skip positions): verify and the
// checkpoint maker follow the rules it returns (Chain, Hash, AllowGaps).
type verifyRuler interface {
	VerifyRules() verify.Options
}

// rulesOf returns the verification rules of store: its own, or the zero
// value, the SQLite store's (one global chain, gap-free positions).
func rulesOf(store any) verify.Options {
	if r, ok := store.(verifyRuler); ok {
		o := r.VerifyRules()
		return verify.Options{Chain: o.Chain, Hash: o.Hash, AllowGaps: o.AllowGaps}
	}
	return verify.Options{}
}

// startAudit serves the audit trail (events, history, as_of, verify) and,
// unless --checkpoints=false, signs checkpoints in the background until
// serve stops, with a last one at shutdown.
func startAudit(ctx context.Context, a *app, api *httpapi.Server) (func() error, error) {
	logger := a.logger.With("component", "audit")
	// The register as_of folds from snapshots kept in memory (a fold of
	// the log like any other), so that an auditor stepping through past
	// moments does not refold the whole log each time.
	audit := &httpapi.Audit{Index: projections.NewSnapshotCache(a.reads), Log: a.store}
	rules := rulesOf(a.store)
	var (
		table    checkpoint.Keeper
		verifier *checkpoint.Verifier
		stop     = func() error { return nil }
	)
	if auditOpts.checkpoints {
		signer, keeper, closeKeeper, err := openCheckpointSigner(ctx, a, logger)
		if err != nil {
			return nil, err
		}
		table = keeper
		if verifier, err = checkpoint.NewVerifier(signer.VerifierKey()); err != nil {
			closeKeeper()
			return nil, err
		}
		maker := &checkpoint.Maker{Log: a.store, Signer: signer, Table: table, Origin: auditOpts.origin,
			EveryEvents: auditOpts.everyEvents, Every: auditOpts.every, Rules: rules, Logger: logger}
		audit.Checkpoints = &serverCheckpoints{maker: maker, table: table, signer: signer}
		// One replica signs at a time (lease "checkpoints"); on SQLite the
		// runner just runs it.
		leases, err := leaseRunner(ctx, a, "audit")
		if err != nil {
			closeKeeper()
			return nil, err
		}
		stopMaker := runLeased(leases, leaseCheckpoints, func(ctx context.Context) error {
			maker.Run(ctx, auditOpts.poll) // makes a last checkpoint of the head when ctx ends
			return ctx.Err()
		})
		stop = func() error {
			stopMaker()
			return closeKeeper()
		}
	}
	audit.Verify = func(ctx context.Context) (verify.Result, error) {
		var anchors []verify.Anchor
		if table != nil {
			stored, err := table.List(ctx)
			if err != nil {
				return verify.Result{}, err
			}
			anchors = storedAnchors(stored, verifier, logger)
		}
		opts := rules
		opts.Anchors = anchors
		return verify.Verify(ctx, verify.FromStore(ctx, a.store, 0, 0), opts)
	}
	api.Audit = audit
	return stop, nil
}

// checkpointsBucket holds, on NATS, the checkpoints and the signing key
// every replica shares.
const checkpointsBucket = "checkpoints"

// openCheckpointSigner returns the checkpoint signing key and where the
// checkpoints are kept. On SQLite: the key file (--checkpoint-key, default
// next to --db) and the table in the event log's file. On NATS: one key
// shared by every replica in the checkpoints bucket (adopted from the key
// file when the bucket has none yet; the bucket thus holds a private key),
// unless --checkpoint-key names a file, which must then be the same on
// every replica; and the checkpoints in that bucket, so that every replica
// serves and verifies the same ones.
func openCheckpointSigner(ctx context.Context, a *app, logger *slog.Logger) (*checkpoint.Signer, checkpoint.Keeper, func() error, error) {
	keyPath := auditOpts.keyPath
	explicit := keyPath != ""
	if keyPath == "" {
		keyPath = defaultKeyPath(a.dbPath)
	}
	kv, err := a.bucket(ctx, checkpointsBucket, jetstream.BucketOptions{
		Description: "partyledger: signed checkpoints of the event log and the signing key (private: guard it like the key file)"})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("open the checkpoints bucket: %w", err)
	}
	if kv != nil {
		var signer *checkpoint.Signer
		var created bool
		if explicit {
			signer, created, err = checkpoint.LoadOrCreateKey(keyPath, auditOpts.origin)
		} else {
			signer, created, err = checkpoint.LoadOrCreateKVKey(ctx, kv, auditOpts.origin, keyPath)
		}
		if err != nil {
			return nil, nil, nil, err
		}
		if created {
			logger.Info("created the checkpoint signing key, shared by every replica; give auditors the public key",
				"bucket", checkpointsBucket, "verifier_key", signer.VerifierKey())
		}
		return signer, &checkpoint.KVTable{KV: kv}, func() error { return nil }, nil
	}
	signer, created, err := checkpoint.LoadOrCreateKey(keyPath, auditOpts.origin)
	if err != nil {
		return nil, nil, nil, err
	}
	if created {
		logger.Info("created the checkpoint signing key; give auditors the public key",
			"key", keyPath, "public_key", keyPath+checkpoint.PublicKeySuffix, "verifier_key", signer.VerifierKey())
	}
	db, err := sqlite.OpenDB(a.dbPath)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("open checkpoints in %s: %w", a.dbPath, err)
	}
	table, err := checkpoint.OpenTable(ctx, db)
	if err != nil {
		db.Close()
		return nil, nil, nil, err
	}
	return signer, table, db.Close, nil
}

// kvCheckpointNotes reads the latest checkpoint from the shared bucket, for
// the change report's integrity footer on NATS.
type kvCheckpointNotes struct{ t *checkpoint.KVTable }

func (n kvCheckpointNotes) LatestCheckpoint(ctx context.Context) (string, error) {
	s, _, err := n.t.Latest(ctx)
	return s.Note, err
}

// sharedCheckpointNotes returns the reader of the checkpoints every replica
// shares on NATS, nil on SQLite.
func sharedCheckpointNotes(ctx context.Context, a *app) (report.Checkpointer, error) {
	kv, err := a.bucket(ctx, checkpointsBucket, jetstream.BucketOptions{})
	if err != nil || kv == nil {
		return nil, err
	}
	return kvCheckpointNotes{t: &checkpoint.KVTable{KV: kv}}, nil
}

// storedAnchors turns the checkpoints kept in the database into trusted
// hashes: those whose signature by v verifies. A checkpoint that claims v's
// key but does not verify was altered; it becomes an anchor that cannot
// match, so verification fails at its position. Checkpoints signed by
// another key (rotated out) are skipped.
func storedAnchors(stored []checkpoint.Stored, v *checkpoint.Verifier, logger *slog.Logger) []verify.Anchor {
	var out []verify.Anchor
	for _, s := range stored {
		c, err := checkpoint.Open([]byte(s.Note), v)
		switch {
		case err == nil:
			out = append(out, verify.Anchor{Position: c.Position, Hash: c.Hash,
				Source: "the checkpoint signed at " + c.Time.Format(time.RFC3339)})
		case errors.Is(err, checkpoint.ErrUnknownKey):
			if logger != nil {
				logger.Warn("stored checkpoint signed by another key: not checked", "position", s.Position)
			}
		default:
			out = append(out, verify.Anchor{Position: s.Position, Hash: "(invalid signature)",
				Source: fmt.Sprintf("the stored checkpoint at position %d, whose signature does not verify (%v)", s.Position, err)})
		}
	}
	return out
}

// serverCheckpoints serves the checkpoints for the API.
type serverCheckpoints struct {
	maker  *checkpoint.Maker
	table  checkpoint.Keeper
	signer *checkpoint.Signer
}

func (c *serverCheckpoints) LatestCheckpoint(ctx context.Context) (string, bool, error) {
	s, ok, err := c.table.Latest(ctx)
	return s.Note, ok, err
}

func (c *serverCheckpoints) MakeCheckpoint(ctx context.Context) (string, bool, error) {
	s, _, err := c.maker.Make(ctx)
	if err != nil {
		return "", false, err
	}
	return s.Note, s.Note != "", nil
}

func (c *serverCheckpoints) PublicKey() string { return c.signer.VerifierKey() }

// openLog opens the SQLite event log at path for a command that reads it.
// The file must exist: a command that examines a log never creates one.
func openLog(ctx context.Context, path string) (*sqlite.Store, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("event log %s: %w", path, err)
	}
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		return nil, fmt.Errorf("open event log %s: %w", path, err)
	}
	return s, nil
}
