package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore/jetstream"
	"github.com/partyledger/partyledger/handlers/auth"
	"github.com/partyledger/partyledger/handlers/console"
)

// Shared-state buckets (docs/nats.md, "Shared state"): on NATS JetStream
// every replica reads and writes these instead of its local files.
const (
	bucketTokens    = "tokens"
	bucketSessions  = "sessions"
	bucketSecurity  = "security"
	bucketOIDCFlows = "oidc_flows"
)

// sharedBucket opens a shared-state bucket (a.bucket) whose reads see every
// acknowledged write, whichever server answers (jetstream.ReadYourWrites):
// a token or session created through one replica is found at once on
// every other. Nil on SQLite.
func (a *app) sharedBucket(ctx context.Context, name string, opts jetstream.BucketOptions) (natsjs.KeyValue, error) {
	kv, err := a.bucket(ctx, name, opts)
	if err != nil || kv == nil {
		return nil, err
	}
	return a.store.(*jetstream.Store).ReadYourWrites(kv), nil
}

// tokenBucketOptions configure the tokens bucket: one value a key (a
// revocation is a compare-and-set of the name key).
var tokenBucketOptions = jetstream.BucketOptions{Description: "partyledger API tokens (hashes only)"}

// openSharedTokens opens the shared tokens on NATS for the token CLI: the
// same bucket serve uses, so that what the CLI creates or revokes holds on
// every replica. The CLI talks to a running cluster, never an embedded
// server of its own.
func openSharedTokens(ctx context.Context, f storeFlags, logger *slog.Logger) (*auth.Tokens, func() error, error) {
	if f.nats.store == storeEmbeddedNATS {
		return nil, nil, errors.New("token: --store embedded-nats belongs to one serve process; " +
			"reach its server with --store nats --nats-url nats://<its --nats-listen>")
	}
	store, _, closers, err := openNATSStore(ctx, f, logger)
	if err != nil {
		return nil, nil, err
	}
	closeAll := func() error {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
		return nil
	}
	kv, err := (&app{store: store}).sharedBucket(ctx, bucketTokens, tokenBucketOptions)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	return auth.NewTokensIn(auth.NewKVTokenStore(kv)), closeAll, nil
}

// shareTokens moves the tokens to the shared bucket when the event log is
// on NATS: the tokens already in this replica's local --db are copied into
// it first (create-if-absent), then every request authenticates against
// the bucket. On SQLite it does nothing.
func (a *app) shareTokens(ctx context.Context) error {
	kv, err := a.sharedBucket(ctx, bucketTokens, tokenBucketOptions)
	if err != nil || kv == nil {
		return err
	}
	shared := auth.NewKVTokenStore(kv)
	n, err := shared.Migrate(ctx, a.tokens)
	if errors.Is(err, auth.ErrMigrationConflict) {
		return fmt.Errorf("move the tokens of %s to the shared store: %w\n"+
			"(names identify actors and are never reused, so such a token cannot be moved. Keep the shared one: "+
			"delete the local one with sqlite3 %s \"DELETE FROM tokens WHERE name = '<name>'\" and start again; "+
			"give its holder a new token with `partyledger token create --store nats …`)", a.dbPath, err, a.dbPath)
	}
	if err != nil {
		return fmt.Errorf("move the tokens of %s to the shared store: %w", a.dbPath, err)
	}
	if n > 0 {
		a.logger.Info("moved this replica's local tokens to the shared store", "tokens", n, "db", a.dbPath, "bucket", kv.Bucket())
	}
	a.tokens = auth.NewTokensIn(shared)
	return nil
}

// bootstrapAdmin creates an admin token on the first start, when there is no
// token at all, and prints it once on stdout. On a shared store (NATS)
// replicas starting together all find none; the token's name is created
// if absent, so exactly one of them makes and prints it and the others log
// that an admin exists.
func bootstrapAdmin(ctx context.Context, tokens *auth.Tokens, stdout io.Writer, logger *slog.Logger) error {
	all, err := tokens.List(ctx)
	if err != nil {
		return err
	}
	if len(all) > 0 {
		logger.Info("tokens exist: no first admin token created", "tokens", len(all))
		return nil
	}
	secret, _, err := tokens.Create(ctx, "admin", auth.RoleAdmin, nil)
	if domain.ErrorCode(err) == domain.ECONFLICT {
		logger.Info("an admin token exists: another replica created the first one and printed it")
		return nil
	}
	if err != nil {
		return fmt.Errorf("create the first admin token: %w", err)
	}
	fmt.Fprintf(stdout, "Created the first admin token (name \"admin\"). It is shown only this once; keep it safe:\n%s\n", secret)
	return nil
}

// shareSessions returns the console's session store: the shared sessions
// bucket on NATS (its TTL the sessions' longest life), so that a browser
// signed in through one replica is signed in on all; this process's memory
// on SQLite.
func (a *app) shareSessions(ctx context.Context) (console.Sessions, error) {
	kv, err := a.sharedBucket(ctx, bucketSessions, jetstream.BucketOptions{TTL: console.MaxAge,
		Description: "partyledger console sessions (by the hash of their cookie)"})
	if err != nil {
		return nil, err
	}
	if kv == nil {
		return &console.MemorySessions{}, nil
	}
	return console.KVSessions{KV: kv}, nil
}

// shareOIDCFlows keeps OIDC sign-ins in progress (state, nonce, PKCE
// verifier) in a shared bucket on NATS, so that the provider's callback
// may reach another replica than the one that sent the browser there.
func (a *app) shareOIDCFlows(ctx context.Context, o *console.OIDC) error {
	kv, err := a.sharedBucket(ctx, bucketOIDCFlows, jetstream.BucketOptions{TTL: console.FlowTTL,
		Description: "partyledger OIDC sign-ins in progress"})
	if err != nil || kv == nil {
		return err
	}
	o.ShareFlows(kv)
	return nil
}

// shareSecurityLog, on NATS, ships this replica's security log lines to the
// shared security bucket and answers GET /api/v1/audit/access from a
// mirror of it: every replica's denials, whichever replica is asked. Each
// replica still writes its own lines to its local file first (cheap, and
// kept if NATS is unreachable), and its failed-authentication limiter
// stays its own (docs/nats.md says why).
func (a *app) shareSecurityLog(ctx context.Context) error {
	kv, err := a.bucket(ctx, bucketSecurity, jetstream.BucketOptions{Description: "partyledger security log lines of every replica"})
	if err != nil || kv == nil {
		return err
	}
	logger := a.logger.With("component", "security-log")
	stop, err := a.access.Share(ctx, kv, func(err error) { logger.Warn("shared security log", "err", err) })
	if err != nil {
		return err
	}
	a.closers = append(a.closers, func() error { stop(); return nil })
	return nil
}
