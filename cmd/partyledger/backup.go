package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/partyledger/partyledger/eventstore/sqlite"
)

func init() { featureCommands = append(featureCommands, newBackupCmd) }

func newBackupCmd() *cobra.Command {
	var db, out string
	cmd := &cobra.Command{
		Use:   "backup --out FILE",
		Short: "Write a consistent copy of the event log while serve keeps running",
		Long: `backup copies the event log database (events, tokens and every other table) to a new
file with SQLite's VACUUM INTO, which reads one consistent snapshot: every event committed
before the backup started is in the copy, and writes go on meanwhile. The copy is synced
to disk, checked with PRAGMA integrity_check, and only then given its final name.

To restore: stop serve, put the file in place of the database (remove the old -wal and
-shm files), and start serve; the read model is rebuilt from the log with
"partyledger rebuild" or caught up on start.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBackup(cmd.Context(), db, out, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&db, "db", envOr(envDB, "./partyledger.db"), "event log SQLite file (env "+envDB+")")
	cmd.Flags().StringVar(&out, "out", "", "backup file to create (must not exist)")
	cmd.MarkFlagRequired("out")
	return cmd
}

// backupSummary is what a finished backup holds.
type backupSummary struct {
	Events   int64
	Head     int64
	HeadHash string
	Bytes    int64
}

// runBackup writes a consistent snapshot of the database at db to out and
// reports what it holds. out must not exist; the snapshot is written under
// a temporary name next to it, synced, checked and renamed, so out exists
// only once it is a complete, checked copy.
func runBackup(ctx context.Context, db, out string, w io.Writer) error {
	if out == "" {
		return errors.New("backup: --out is required")
	}
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("backup: %s exists; refusing to overwrite it", out)
	}
	if _, err := os.Stat(db); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	start := time.Now()
	tmp := out + ".partial"
	os.Remove(tmp)
	if err := vacuumInto(ctx, db, tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	sum, err := checkBackup(ctx, tmp)
	if err == nil {
		err = syncFile(tmp)
	}
	if err == nil {
		err = os.Rename(tmp, out)
	}
	if err == nil {
		err = syncDir(filepath.Dir(out))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(w, "backup: %s: %d events up to position %d (head hash %s), %d bytes, in %s\n",
		out, sum.Events, sum.Head, sum.HeadHash, sum.Bytes, time.Since(start).Round(time.Millisecond))
	return nil
}

// vacuumInto runs VACUUM INTO on its own connection to db. VACUUM INTO
// reads the source inside one read transaction, which in WAL mode neither
// blocks nor waits for the writer; it needs a connection that is not
// query_only, but it writes nothing to the source.
func vacuumInto(ctx context.Context, db, dst string) error {
	src, err := sqlite.OpenDB(db)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer src.Close()
	src.SetMaxOpenConns(1)
	if _, err := src.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		return fmt.Errorf("backup: VACUUM INTO %s: %w", dst, err)
	}
	return nil
}

// checkBackup runs PRAGMA integrity_check on the copy and reads its head.
func checkBackup(ctx context.Context, path string) (backupSummary, error) {
	var sum backupSummary
	db, err := sqlite.OpenDB(path, sqlite.WithQueryOnly())
	if err != nil {
		return sum, err
	}
	defer db.Close()
	if err := integrityCheck(ctx, db); err != nil {
		return sum, fmt.Errorf("check %s: %w", path, err)
	}
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(MAX(position), 0) FROM events`).Scan(&sum.Events, &sum.Head); err != nil {
		return sum, fmt.Errorf("check %s: %w", path, err)
	}
	if sum.Head > 0 {
		if err := db.QueryRowContext(ctx, `SELECT hash FROM events WHERE position = ?`, sum.Head).Scan(&sum.HeadHash); err != nil {
			return sum, fmt.Errorf("check %s: %w", path, err)
		}
	}
	if err := db.Close(); err != nil {
		return sum, err
	}
	// Opening in WAL mode may leave -wal and -shm files; the copy must be
	// one self-contained file.
	for _, f := range []string{path + "-wal", path + "-shm"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return sum, err
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return sum, err
	}
	sum.Bytes = fi.Size()
	return sum, nil
}

// integrityCheck runs PRAGMA integrity_check and fails unless it says ok.
func integrityCheck(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var problems []error
	for rows.Next() {
		var msg string
		if err := rows.Scan(&msg); err != nil {
			return err
		}
		if msg != "ok" {
			problems = append(problems, errors.New(msg))
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(problems) > 0 {
		return fmt.Errorf("integrity_check: %w", errors.Join(problems...))
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
