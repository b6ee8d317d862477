package jetstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/partyledger/partyledger/eventstore"
)

var _ eventstore.Store = (*Store)(nil)

// Defaults for [Options].
const (
	DefaultStream         = "PARTYLEDGER"
	DefaultDuplicates     = 2 * time.Minute
	DefaultPublishTimeout = 5 * time.Second
	// MaxAppend is the most events one Append takes: the server's default
	// limit on an atomic batch.
	MaxAppend = 1000
)

// Profile is a durability claim that [Open] checks the stream and the
// servers against.
type Profile string

const (
	// ProfileDev claims nothing: any storage, any replication, any fsync
	// policy. For tests and experiments.
	ProfileDev Profile = "dev"
	// ProfileDurable: an acknowledged append survives a crash or power loss
	// of the server. The stream is on file storage, it denies deletes and
	// purges, and every server fsyncs each write (sync_interval: always,
	// checked by [Options.SyncCheck]).
	ProfileDurable Profile = "durable"
	// ProfileHA is ProfileDurable on a stream with at least 3 replicas: an
	// acknowledged append survives the loss of one node, and appends go on
	// while a majority is up.
	ProfileHA Profile = "ha"
)

// ErrProfile is matched by the error [Open] returns when the stream or the
// servers do not meet the chosen [Profile].
var ErrProfile = errors.New("jetstream: the stream does not meet the durability profile")

// SyncCheck reports whether every server that stores the stream fsyncs each
// write before it acknowledges it (sync_interval: always). It returns nil
// if so, and otherwise an error that says what it found or why it cannot
// tell. See [VarzSyncCheck] and [SyncAlwaysConfigured].
type SyncCheck func(ctx context.Context) error

// SyncAlwaysConfigured is the SyncCheck of a server this process configured
// itself with SyncAlways (the embedded server).
func SyncAlwaysConfigured(context.Context) error { return nil }

// Options configures [Open]. The zero value opens the stream
// [DefaultStream] under [ProfileDurable], which then needs SyncCheck.
type Options struct {
	// Stream is the JetStream stream name. Empty means [DefaultStream].
	Stream string
	// SubjectPrefix is the subject prefix of event messages. Empty means
	// [DefaultSubjectPrefix].
	SubjectPrefix string
	// Replicas is the replication factor when Open creates the stream.
	// Zero means 1, or 3 under [ProfileHA].
	Replicas int
	// Profile is the durability claim. Empty means [ProfileDurable].
	Profile Profile
	// SyncCheck verifies the servers' fsync policy; required by
	// [ProfileDurable] and [ProfileHA].
	SyncCheck SyncCheck
	// Duplicates is the stream's de-duplication window when Open creates
	// it: within it, a publish retried with the same event id is not
	// stored twice. Zero means [DefaultDuplicates].
	Duplicates time.Duration
	// PublishTimeout bounds one publish attempt (one round trip). Zero
	// means [DefaultPublishTimeout].
	PublishTimeout time.Duration
	// Logger receives retries (Warn) and stream setup (Info). Nil discards.
	Logger *slog.Logger
}

// Store is the JetStream event store. Create it with [Open]; it is safe for
// concurrent use, also by several processes on the same stream.
type Store struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream
	name   string
	prefix string
	direct bool // the stream allows direct gets
	opts   Options
	logger *slog.Logger
	heads  headCache

	// closeMu is held shared by every operation and exclusively by Close.
	closeMu sync.RWMutex
	closed  bool
	quit    chan struct{}

	// Test hooks (export_test.go): publishes to send twice, the first
	// time without asking for an answer (a stored attempt whose answer was
	// lost), and answers to drop.
	testSendTwice   atomic.Int32
	testLoseAnswers atomic.Int32
}

// Open checks or creates the stream on the connection nc and returns the
// store. A missing stream is created for opts.Profile (file storage unless
// [ProfileDev], atomic batch publish, deletes and purges denied, no
// limits). An existing stream is never changed: if it does not meet the
// profile, Open fails with an error matching [ErrProfile] that lists what
// differs. The store does not own nc: close it after [Store.Close].
func Open(ctx context.Context, nc *nats.Conn, opts Options) (*Store, error) {
	if opts.Stream == "" {
		opts.Stream = DefaultStream
	}
	if opts.SubjectPrefix == "" {
		opts.SubjectPrefix = DefaultSubjectPrefix
	}
	if opts.Profile == "" {
		opts.Profile = ProfileDurable
	}
	switch opts.Profile {
	case ProfileDev, ProfileDurable, ProfileHA:
	default:
		return nil, fmt.Errorf("jetstream: unknown durability profile %q (want dev, durable or ha)", opts.Profile)
	}
	if opts.Replicas == 0 {
		opts.Replicas = 1
		if opts.Profile == ProfileHA {
			opts.Replicas = 3
		}
	}
	if opts.Duplicates == 0 {
		opts.Duplicates = DefaultDuplicates
	}
	if opts.PublishTimeout == 0 {
		opts.PublishTimeout = DefaultPublishTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	logger := opts.Logger.With("stream", opts.Stream)
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	stream, err := js.Stream(ctx, opts.Stream)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		cfg := streamConfig(opts)
		stream, err = js.CreateStream(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("jetstream: create stream %s: %w", opts.Stream, unavailable(err))
		}
		logger.Info("created the event stream", "subjects", cfg.Subjects, "replicas", cfg.Replicas, "storage", strings.ToLower(cfg.Storage.String()))
	case err != nil:
		return nil, fmt.Errorf("jetstream: stream %s: %w", opts.Stream, unavailable(err))
	}
	if err := checkStream(stream.CachedInfo().Config, opts); err != nil {
		return nil, err
	}
	if opts.Profile != ProfileDev {
		if opts.SyncCheck == nil {
			return nil, fmt.Errorf("%w: the %s profile needs servers that fsync every write (jetstream { sync_interval: always }), and there is no way to check that here; give the servers' monitoring URLs, or choose the dev profile", ErrProfile, opts.Profile)
		}
		if err := opts.SyncCheck(ctx); err != nil {
			return nil, fmt.Errorf("%w: the %s profile needs servers that fsync every write (jetstream { sync_interval: always }): %w", ErrProfile, opts.Profile, err)
		}
	}
	return &Store{nc: nc, js: js, stream: stream, name: opts.Stream, prefix: opts.SubjectPrefix,
		direct: stream.CachedInfo().Config.AllowDirect, opts: opts, logger: logger, quit: make(chan struct{})}, nil
}

// streamConfig is the configuration Open creates a stream with.
func streamConfig(opts Options) jetstream.StreamConfig {
	storage := jetstream.FileStorage
	return jetstream.StreamConfig{
		Name:               opts.Stream,
		Description:        "partyledger event log: one subject per aggregate stream, sequence = global position",
		Subjects:           []string{opts.SubjectPrefix + ".>"},
		Retention:          jetstream.LimitsPolicy,
		MaxMsgs:            -1,
		MaxBytes:           -1,
		MaxAge:             0,
		MaxMsgsPerSubject:  -1,
		Discard:            jetstream.DiscardNew,
		Storage:            storage,
		Replicas:           opts.Replicas,
		Duplicates:         opts.Duplicates,
		DenyDelete:         true,
		DenyPurge:          true,
		AllowAtomicPublish: true,
		AllowDirect:        true,
	}
}

// checkStream lists every way cfg falls short of what the store needs and
// of opts.Profile.
func checkStream(cfg jetstream.StreamConfig, opts Options) error {
	var problems []string
	if want := opts.SubjectPrefix + ".>"; !slices.Contains(cfg.Subjects, want) {
		problems = append(problems, fmt.Sprintf("subjects are %v, want them to include %s", cfg.Subjects, want))
	}
	if !cfg.AllowAtomicPublish {
		problems = append(problems, "atomic batch publish is off (allow_atomic: true is needed for multi-event appends)")
	}
	if cfg.Retention != jetstream.LimitsPolicy {
		problems = append(problems, fmt.Sprintf("retention is %s, want limits (events are never removed)", cfg.Retention))
	}
	if cfg.MaxMsgs > 0 || cfg.MaxBytes > 0 || cfg.MaxAge > 0 || cfg.MaxMsgsPerSubject > 0 {
		problems = append(problems, fmt.Sprintf("limits would discard events (max_msgs %d, max_bytes %d, max_age %s, max_msgs_per_subject %d), want none",
			cfg.MaxMsgs, cfg.MaxBytes, cfg.MaxAge, cfg.MaxMsgsPerSubject))
	}
	if opts.Profile != ProfileDev {
		if cfg.Storage != jetstream.FileStorage {
			problems = append(problems, fmt.Sprintf("storage is %s, want file", strings.ToLower(cfg.Storage.String())))
		}
		if !cfg.DenyDelete || !cfg.DenyPurge {
			problems = append(problems, fmt.Sprintf("deny_delete is %t and deny_purge is %t, want both true (the log is append-only)", cfg.DenyDelete, cfg.DenyPurge))
		}
	}
	if opts.Profile == ProfileHA && cfg.Replicas < 3 {
		problems = append(problems, fmt.Sprintf("replicas is %d, want at least 3", cfg.Replicas))
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: stream %s under the %s profile: %s", ErrProfile, cfg.Name, opts.Profile, strings.Join(problems, "; "))
}

// Name returns the JetStream stream name.
func (s *Store) Name() string { return s.name }

// MaxAppend implements [eventstore.AppendLimiter]: the most events one
// append or one AppendStreams call takes, all parts together.
func (s *Store) MaxAppend() int { return MaxAppend }

// Close stops accepting calls, waits for those in flight and ends the
// subscriptions with [eventstore.ErrClosed]. It does not close the
// connection. Close is idempotent.
func (s *Store) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	close(s.quit)
	return nil
}

// begin takes the shared side of closeMu; false means the store is closed.
func (s *Store) begin() bool {
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return false
	}
	return true
}

func (s *Store) end() { s.closeMu.RUnlock() }

// unavailable marks errors that mean "the server cannot be reached or
// answer right now" with [eventstore.ErrUnavailable].
func unavailable(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, nats.ErrTimeout), errors.Is(err, nats.ErrNoResponders), errors.Is(err, nats.ErrConnectionClosed),
		errors.Is(err, nats.ErrConnectionDraining), errors.Is(err, nats.ErrConnectionReconnecting),
		errors.Is(err, jetstream.ErrNoStreamResponse), errors.Is(err, jetstream.ErrJetStreamNotEnabled):
		return fmt.Errorf("%w: %w", eventstore.ErrUnavailable, err)
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && (apiErr.Code == 503 || apiErr.ErrorCode == 10008 || apiErr.ErrorCode == 10009) {
		return fmt.Errorf("%w: %w", eventstore.ErrUnavailable, err)
	}
	return err
}
