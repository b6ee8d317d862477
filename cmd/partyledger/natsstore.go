package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/pflag"

	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/eventstore/jetstream"
	"github.com/partyledger/partyledger/eventstore/jetstream/embedded"
)

// Environment variables of the store flags.
const (
	envStore          = "PARTYLEDGER_STORE"
	envNATSURL        = "PARTYLEDGER_NATS_URL"
	envNATSCreds      = "PARTYLEDGER_NATS_CREDS"
	envNATSNkey       = "PARTYLEDGER_NATS_NKEY"
	envNATSStream     = "PARTYLEDGER_NATS_STREAM"
	envNATSDurability = "PARTYLEDGER_NATS_DURABILITY"
	envNATSMonitor    = "PARTYLEDGER_NATS_MONITOR"
	envNATSDir        = "PARTYLEDGER_NATS_DIR"
	envNATSListen     = "PARTYLEDGER_NATS_LISTEN"
)

// The values of --store.
const (
	storeSQLite       = "sqlite"
	storeNATS         = "nats"
	storeEmbeddedNATS = "embedded-nats"
)

// natsFlags choose the event store and configure the NATS ones. The zero
// value means the SQLite store.
type natsFlags struct {
	store      string // sqlite (or empty), nats, embedded-nats
	urls       string
	creds      string
	nkey       string
	tlsCA      string
	tlsCert    string
	tlsKey     string
	tlsFirst   bool
	stream     string
	durability string // dev, durable, ha
	replicas   int
	monitor    string // comma-separated monitoring URLs, for the fsync check
	dir        string // embedded: JetStream storage directory
	listen     string // embedded: client listen address
}

func (f *natsFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.store, "store", envOr(envStore, storeSQLite), "event store: sqlite, nats (an external NATS JetStream cluster) or embedded-nats (env "+envStore+")")
	fs.StringVar(&f.urls, "nats-url", envOr(envNATSURL, nats.DefaultURL), "NATS server URLs, comma-separated (env "+envNATSURL+")")
	fs.StringVar(&f.creds, "nats-creds", envOr(envNATSCreds, ""), "NATS user credentials file (env "+envNATSCreds+")")
	fs.StringVar(&f.nkey, "nats-nkey", envOr(envNATSNkey, ""), "NATS nkey seed file (env "+envNATSNkey+")")
	fs.StringVar(&f.tlsCA, "nats-tls-ca", "", "CA certificates (PEM) to verify the NATS servers with")
	fs.StringVar(&f.tlsCert, "nats-tls-cert", "", "client certificate (PEM) for NATS mutual TLS")
	fs.StringVar(&f.tlsKey, "nats-tls-key", "", "client key (PEM) for NATS mutual TLS")
	fs.BoolVar(&f.tlsFirst, "nats-tls-first", false, "do the TLS handshake before the NATS protocol (servers with handshake_first)")
	fs.StringVar(&f.stream, "nats-stream", envOr(envNATSStream, jetstream.DefaultStream), "JetStream stream of the event log (env "+envNATSStream+")")
	fs.StringVar(&f.durability, "nats-durability", envOr(envNATSDurability, string(jetstream.ProfileDurable)),
		"durability profile the stream and servers must meet: dev, durable (file storage, sync_interval: always) or ha (durable and R3) (env "+envNATSDurability+")")
	fs.IntVar(&f.replicas, "nats-replicas", 0, "replicas when the stream is created (default 1, 3 for --nats-durability ha)")
	fs.StringVar(&f.monitor, "nats-monitor", envOr(envNATSMonitor, ""),
		"monitoring URLs (http://host:8222) of every NATS server, comma-separated, to check sync_interval: always (env "+envNATSMonitor+")")
	fs.StringVar(&f.dir, "nats-dir", envOr(envNATSDir, ""), "embedded-nats: JetStream storage directory (env "+envNATSDir+"; default: next to --db)")
	fs.StringVar(&f.listen, "nats-listen", envOr(envNATSListen, "127.0.0.1:4222"), "embedded-nats: client listen address; port 0 picks a free one (env "+envNATSListen+")")
}

// nats reports whether a NATS store is chosen; it fails for an unknown one.
func (f *natsFlags) nats() (bool, error) {
	switch f.store {
	case "", storeSQLite:
		return false, nil
	case storeNATS, storeEmbeddedNATS:
		return true, nil
	}
	return false, fmt.Errorf("unknown --store %q: want sqlite, nats or embedded-nats", f.store)
}

// natsConn is the NATS side of an app on a NATS store: the connection the
// store uses, and how to open more (the event bus's subscribers).
type natsConn struct {
	conn     *nats.Conn
	dial     func() (*nats.Conn, error)
	replicas int
	url      string
}

// openNATSStore starts the embedded server if asked, connects, and opens
// the JetStream store. The closers release everything, to be run last
// first.
func openNATSStore(ctx context.Context, sf storeFlags, logger *slog.Logger) (eventstore.Store, *natsConn, []func() error, error) {
	f := sf.nats
	var closers []func() error
	fail := func(err error) (eventstore.Store, *natsConn, []func() error, error) {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
		return nil, nil, nil, err
	}
	profile := jetstream.Profile(f.durability)
	var syncCheck jetstream.SyncCheck
	urls := f.urls
	if f.store == storeEmbeddedNATS {
		srv, err := startEmbedded(sf, logger)
		if err != nil {
			return fail(err)
		}
		closers = append(closers, func() error { srv.Shutdown(); srv.WaitForShutdown(); return nil })
		urls = srv.ClientURL()
		syncCheck = jetstream.SyncAlwaysConfigured
	} else if f.monitor != "" {
		syncCheck = jetstream.VarzSyncCheck(splitList(f.monitor), nil)
	}
	opts, err := f.connectOptions(logger)
	if err != nil {
		return fail(err)
	}
	dial := func() (*nats.Conn, error) { return nats.Connect(urls, opts...) }
	nc, err := dial()
	if err != nil {
		return fail(fmt.Errorf("connect to NATS %s: %w", urls, err))
	}
	closers = append(closers, func() error { nc.Close(); return nil })
	store, err := jetstream.Open(ctx, nc, jetstream.Options{Stream: f.stream, Profile: profile, Replicas: f.replicas,
		SyncCheck: syncCheck, Logger: logger.With("component", "eventstore")})
	if err != nil {
		if errors.Is(err, jetstream.ErrProfile) {
			err = fmt.Errorf("%w\n(refusing to start: fix the stream or the servers, pass --nats-monitor so the fsync policy can be checked, or choose --nats-durability dev, which claims no durability)", err)
		}
		return fail(fmt.Errorf("open event log on NATS: %w", err))
	}
	closers = append(closers, store.Close)
	replicas := f.replicas
	if replicas == 0 && profile == jetstream.ProfileHA {
		replicas = 3
	}
	return store, &natsConn{conn: nc, dial: dial, replicas: max(replicas, 1), url: urls}, closers, nil
}

// startEmbedded starts the embedded single-node server with JetStream in
// the data directory, fsyncing every write.
func startEmbedded(sf storeFlags, logger *slog.Logger) (*server.Server, error) {
	dir := sf.nats.dir
	if dir == "" {
		dir = strings.TrimSuffix(sf.db, ".db") + ".nats"
	}
	host, portStr, err := net.SplitHostPort(sf.nats.listen)
	if err != nil {
		return nil, fmt.Errorf("--nats-listen %q: %w", sf.nats.listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("--nats-listen %q: bad port", sf.nats.listen)
	}
	if port == 0 {
		port = -1 // the server's "any free port"
	}
	srv, err := embedded.Start(embedded.Config{StoreDir: dir, Host: host, Port: port, SyncAlways: true, Ready: 30 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("start embedded NATS in %s: %w", dir, err)
	}
	if err := embedded.WaitJetStream(srv, 30*time.Second); err != nil {
		srv.Shutdown()
		return nil, err
	}
	logger.Info("embedded NATS server started", "url", srv.ClientURL(), "store_dir", dir)
	return srv, nil
}

// connectOptions are the nats.go options the flags ask for.
func (f *natsFlags) connectOptions(logger *slog.Logger) ([]nats.Option, error) {
	opts := []nats.Option{
		nats.Name("partyledger"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				logger.Warn("NATS disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { logger.Info("NATS reconnected", "url", nc.ConnectedUrl()) }),
	}
	if f.creds != "" {
		opts = append(opts, nats.UserCredentials(f.creds))
	}
	if f.nkey != "" {
		o, err := nats.NkeyOptionFromSeed(f.nkey)
		if err != nil {
			return nil, fmt.Errorf("--nats-nkey: %w", err)
		}
		opts = append(opts, o)
	}
	if f.tlsCA != "" {
		opts = append(opts, nats.RootCAs(splitList(f.tlsCA)...))
	}
	if f.tlsCert != "" || f.tlsKey != "" {
		if f.tlsCert == "" || f.tlsKey == "" {
			return nil, errors.New("--nats-tls-cert and --nats-tls-key go together")
		}
		opts = append(opts, nats.ClientCert(f.tlsCert, f.tlsKey))
	}
	if f.tlsFirst {
		opts = append(opts, nats.TLSHandshakeFirst())
	}
	return opts, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// bucket opens the shared-state bucket name next to the event log when the
// log is on NATS JetStream (see jetstream.Store.Bucket), so that every
// replica reads and writes the same state. On SQLite it returns nil and no
// error: one process owns the database (lock.go) and keeps that state in
// its local files.
func (a *app) bucket(ctx context.Context, name string, opts jetstream.BucketOptions) (natsjs.KeyValue, error) {
	js, ok := a.store.(*jetstream.Store)
	if !ok {
		return nil, nil
	}
	return js.Bucket(ctx, name, opts)
}
