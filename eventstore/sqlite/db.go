package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"
)

// DriverName is the database/sql driver name under which this package
// registers go-sqlite3 with a connect hook that sets and verifies the pragmas
// partyledger relies on (see [OpenDB]). The driver is registered the first
// time [OpenDB] or [Open] is called.
const DriverName = "partyledger-sqlite3"

// DefaultBusyTimeout is how long a connection waits for a lock held by
// another connection before failing with SQLITE_BUSY.
const DefaultBusyTimeout = 10 * time.Second

// Synchronous is the value of PRAGMA synchronous, which decides when SQLite
// waits for data to reach stable storage. The zero value means
// [SynchronousFull].
type Synchronous string

const (
	// SynchronousFull syncs the WAL on every commit: an acknowledged
	// transaction survives power loss. It is the default and the only
	// sensible setting for the event log.
	SynchronousFull Synchronous = "FULL"
	// SynchronousNormal may lose the last transactions on power loss (never
	// corrupts). Use it only for files that can be rebuilt, such as
	// projection read models.
	SynchronousNormal Synchronous = "NORMAL"
	// SynchronousExtra is FULL plus a sync of the directory after deleting
	// the journal; harmless with WAL and accepted for completeness.
	SynchronousExtra Synchronous = "EXTRA"
)

// level returns the integer that PRAGMA synchronous reads back as.
func (s Synchronous) level() (int64, error) {
	switch strings.ToUpper(string(s)) {
	case "", "FULL", "2":
		return 2, nil
	case "NORMAL", "1":
		return 1, nil
	case "EXTRA", "3":
		return 3, nil
	}
	return 0, fmt.Errorf("sqlite: unsupported synchronous mode %q (want FULL, NORMAL or EXTRA)", string(s))
}

// DBOption configures [OpenDB].
type DBOption func(*dbConfig)

// WithSynchronous sets PRAGMA synchronous on every connection. The default is
// [SynchronousFull].
func WithSynchronous(s Synchronous) DBOption {
	return func(c *dbConfig) { c.sync = s }
}

// WithBusyTimeout sets PRAGMA busy_timeout (millisecond resolution) on every
// connection. The default is [DefaultBusyTimeout].
func WithBusyTimeout(d time.Duration) DBOption {
	return func(c *dbConfig) { c.busyTimeout = d }
}

// WithQueryOnly sets PRAGMA query_only on every connection, so the pool can
// read but never write. Use it for read pools.
func WithQueryOnly() DBOption {
	return func(c *dbConfig) { c.queryOnly = true }
}

// dbConfig is what every connection of one *sql.DB must look like. It is
// carried in the DSN so that connections opened through [DriverName] by
// database/sql's pool get the same settings.
type dbConfig struct {
	path        string
	sync        Synchronous
	busyTimeout time.Duration
	queryOnly   bool
}

// dsn renders c as a go-sqlite3 DSN. _txlock=immediate makes BeginTx issue
// BEGIN IMMEDIATE, so a writer takes the write lock up front and waits on
// busy_timeout there, instead of failing with SQLITE_BUSY when it tries to
// upgrade a read transaction.
func (c dbConfig) dsn() string {
	q := url.Values{}
	q.Set("_txlock", "immediate")
	q.Set("_busy_timeout", strconv.FormatInt(c.busyTimeout.Milliseconds(), 10))
	q.Set("_journal_mode", "WAL")
	q.Set("_foreign_keys", "1")
	lvl, _ := c.sync.level()
	q.Set("_synchronous", strconv.FormatInt(lvl, 10))
	if c.queryOnly {
		q.Set("_query_only", "1")
	}
	return c.path + "?" + q.Encode()
}

// parseDSN is the inverse of dsn. It accepts a bare path too (every setting
// then takes its safe default) and refuses settings that would weaken the
// guarantees, in-memory databases and URI filenames.
func parseDSN(dsn string) (dbConfig, error) {
	c := dbConfig{sync: SynchronousFull, busyTimeout: DefaultBusyTimeout}
	path, query, _ := strings.Cut(dsn, "?")
	if err := checkPath(path); err != nil {
		return c, err
	}
	c.path = path
	params, err := url.ParseQuery(query)
	if err != nil {
		return c, fmt.Errorf("sqlite: bad DSN parameters %q: %w", query, err)
	}
	for key, vals := range params {
		val := vals[len(vals)-1]
		switch key {
		case "_txlock":
			if !strings.EqualFold(val, "immediate") {
				return c, fmt.Errorf("sqlite: _txlock=%s refused: transactions must be BEGIN IMMEDIATE", val)
			}
		case "_busy_timeout", "_timeout":
			ms, err := strconv.ParseInt(val, 10, 64)
			if err != nil || ms < 0 {
				return c, fmt.Errorf("sqlite: bad %s %q", key, val)
			}
			c.busyTimeout = time.Duration(ms) * time.Millisecond
		case "_journal_mode", "_journal":
			if !strings.EqualFold(val, "WAL") {
				return c, fmt.Errorf("sqlite: %s=%s refused: journal mode must be WAL", key, val)
			}
		case "_foreign_keys", "_fk":
			if b, err := strconv.ParseBool(val); err != nil || !b {
				return c, fmt.Errorf("sqlite: %s=%s refused: foreign keys must be on", key, val)
			}
		case "_synchronous", "_sync":
			c.sync = Synchronous(val)
			if _, err := c.sync.level(); err != nil {
				return c, err
			}
		case "_query_only":
			b, err := strconv.ParseBool(val)
			if err != nil {
				return c, fmt.Errorf("sqlite: bad _query_only %q", val)
			}
			c.queryOnly = b
		default:
			return c, fmt.Errorf("sqlite: unsupported DSN parameter %q", key)
		}
	}
	return c, nil
}

// checkPath refuses names that would not give one shared on-disk database.
// A bare ":memory:" with a connection pool yields a separate database per
// connection; URI filenames would let parameters bypass [parseDSN].
func checkPath(path string) error {
	switch {
	case path == "":
		return errors.New("sqlite: empty database path (would be a private temporary database)")
	case path == ":memory:" || strings.Contains(path, "mode=memory"):
		return fmt.Errorf("sqlite: in-memory database %q refused: each pooled connection would get its own database; use a file in a temporary directory", path)
	case strings.HasPrefix(path, "file:"):
		return fmt.Errorf("sqlite: URI filename %q refused: pass a plain file path", path)
	}
	return nil
}

var registerOnce sync.Once

// register installs [DriverName] once per process.
func register() {
	registerOnce.Do(func() { sql.Register(DriverName, pragmaDriver{}) })
}

// pragmaDriver wraps go-sqlite3. For each *sql.DB it builds a connector whose
// ConnectHook enforces the settings parsed from that DB's DSN.
type pragmaDriver struct{}

// Open implements driver.Driver. database/sql prefers OpenConnector.
func (d pragmaDriver) Open(dsn string) (driver.Conn, error) {
	c, err := d.OpenConnector(dsn)
	if err != nil {
		return nil, err
	}
	return c.Connect(context.Background())
}

// OpenConnector implements driver.DriverContext.
func (pragmaDriver) OpenConnector(dsn string) (driver.Connector, error) {
	cfg, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	return &connector{
		dsn: cfg.dsn(),
		drv: &sqlite3.SQLiteDriver{ConnectHook: cfg.connectHook},
	}, nil
}

type connector struct {
	dsn string
	drv *sqlite3.SQLiteDriver
}

// Connect implements driver.Connector. go-sqlite3 opens connections without
// a context; opening a local file does not block for long.
func (c *connector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }

// Driver implements driver.Connector.
func (c *connector) Driver() driver.Driver { return pragmaDriver{} }

// connectHook runs on every new connection after go-sqlite3 applied its own
// DSN pragmas (go-sqlite3 defaults to synchronous=NORMAL). It sets the
// pragmas again and reads them back: a connection that does not read back as
// required is refused rather than silently running with weaker durability.
func (c dbConfig) connectHook(conn *sqlite3.SQLiteConn) error {
	if err := c.applyPragmas(conn); err != nil {
		return fmt.Errorf("sqlite: %s: refusing connection: %w", c.path, err)
	}
	return nil
}

// pragmaConn is the part of *sqlite3.SQLiteConn the hook uses; tests fake it.
type pragmaConn interface {
	Exec(query string, args []driver.Value) (driver.Result, error)
	Query(query string, args []driver.Value) (driver.Rows, error)
}

// pragmaWant is one pragma and the value it must read back as.
type pragmaWant struct {
	name string
	set  string
	want string
}

func (c dbConfig) pragmas() []pragmaWant {
	lvl, _ := c.sync.level()
	queryOnly := "0"
	if c.queryOnly {
		queryOnly = "1"
	}
	ms := strconv.FormatInt(c.busyTimeout.Milliseconds(), 10)
	return []pragmaWant{
		{name: "busy_timeout", set: ms, want: ms},
		{name: "foreign_keys", set: "ON", want: "1"},
		{name: "synchronous", set: strconv.FormatInt(lvl, 10), want: strconv.FormatInt(lvl, 10)},
		{name: "journal_mode", set: "WAL", want: "wal"},
		{name: "query_only", set: queryOnly, want: queryOnly},
	}
}

func (c dbConfig) applyPragmas(conn pragmaConn) error {
	var errs []error
	for _, p := range c.pragmas() {
		if _, err := conn.Exec("PRAGMA "+p.name+" = "+p.set, nil); err != nil {
			errs = append(errs, fmt.Errorf("set PRAGMA %s = %s: %w", p.name, p.set, err))
			continue
		}
		got, err := readPragma(conn, p.name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !strings.EqualFold(got, p.want) {
			errs = append(errs, fmt.Errorf("PRAGMA %s reads back %q, want %q", p.name, got, p.want))
		}
	}
	return errors.Join(errs...)
}

func readPragma(conn pragmaConn, name string) (string, error) {
	rows, err := conn.Query("PRAGMA "+name, nil)
	if err != nil {
		return "", fmt.Errorf("read PRAGMA %s: %w", name, err)
	}
	defer rows.Close()
	dest := make([]driver.Value, len(rows.Columns()))
	if err := rows.Next(dest); err != nil {
		if errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read PRAGMA %s: no value", name)
		}
		return "", fmt.Errorf("read PRAGMA %s: %w", name, err)
	}
	if len(dest) == 0 {
		return "", fmt.Errorf("read PRAGMA %s: no column", name)
	}
	switch v := dest[0].(type) {
	case int64:
		return strconv.FormatInt(v, 10), nil
	case string:
		return v, nil
	case []byte:
		return string(v), nil
	default:
		return fmt.Sprint(v), nil
	}
}

// OpenDB opens the SQLite file at path through [DriverName] and checks that a
// first connection can be made. Every connection the returned pool opens
// runs with journal_mode=WAL, synchronous=FULL (see [WithSynchronous]),
// foreign_keys=ON and busy_timeout=[DefaultBusyTimeout], each set and then
// read back; a connection whose pragmas do not read back as required fails
// with an error instead of running. BeginTx issues BEGIN IMMEDIATE, so keep
// read-only work outside explicit transactions.
//
// path must be a plain file path: "", ":memory:" and "file:" URIs are
// refused. The file is created if it does not exist. The caller owns the
// pool (and decides SetMaxOpenConns: 1 for a single writer) and must Close
// it. OpenDB is safe for concurrent use.
func OpenDB(path string, opts ...DBOption) (*sql.DB, error) {
	register()
	cfg := dbConfig{path: path, sync: SynchronousFull, busyTimeout: DefaultBusyTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	if err := checkPath(path); err != nil {
		return nil, err
	}
	if strings.Contains(path, "?") {
		return nil, fmt.Errorf("sqlite: database path %q must not contain '?'", path)
	}
	if _, err := cfg.sync.level(); err != nil {
		return nil, err
	}
	if cfg.busyTimeout < 0 {
		return nil, fmt.Errorf("sqlite: negative busy timeout %s", cfg.busyTimeout)
	}
	if !cfg.queryOnly {
		if err := createPrivate(path); err != nil {
			return nil, err
		}
	}
	db, err := sql.Open(DriverName, cfg.dsn())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// database/sql keeps 2 idle connections by default: a burst of reads
	// then opens and closes SQLite connections, each with its pragmas and a
	// cold page cache. Keep up to DefaultIdleConns warm instead; callers
	// that cap the pool with SetMaxOpenConns keep idle = open.
	db.SetMaxIdleConns(DefaultIdleConns)
	return db, nil
}

// DefaultIdleConns is how many idle connections [OpenDB] keeps open.
const DefaultIdleConns = 8

// createPrivate creates the database file with mode 0600 if it does not
// exist yet: the event log, the read model and the security log hold the
// organisation's register and its token hashes, which other users of the
// machine have no business reading. SQLite gives the -wal and -shm files
// the main file's mode. An existing file keeps its mode.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		return f.Close()
	case errors.Is(err, fs.ErrExist):
		return nil
	default:
		return fmt.Errorf("sqlite: create %s: %w", path, err)
	}
}
