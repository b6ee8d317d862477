package checkpoint

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// TableName is the table that keeps the checkpoints made, in the event
// log's SQLite file (beside the events, sharing their durability).
const TableName = "audit_checkpoints"

// Stored is one checkpoint as kept: what it states and its signed note.
type Stored struct {
	Checkpoint
	Note string
}

// Table keeps the checkpoints made, one row per position. It is safe for
// concurrent use.
type Table struct {
	db *sql.DB
}

// OpenTable creates the checkpoints table in db if needed.
func OpenTable(ctx context.Context, db *sql.DB) (*Table, error) {
	_, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+TableName+` (
		position INTEGER PRIMARY KEY,
		hash     TEXT NOT NULL,
		time     TEXT NOT NULL,
		note     TEXT NOT NULL
	)`)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: create table: %w", err)
	}
	return &Table{db: db}, nil
}

// Add stores a checkpoint. A checkpoint at a position already kept is not
// stored again (the first one stays).
func (t *Table) Add(ctx context.Context, s Stored) error {
	_, err := t.db.ExecContext(ctx, `INSERT INTO `+TableName+` (position, hash, time, note)
		VALUES (?, ?, ?, ?) ON CONFLICT (position) DO NOTHING`,
		s.Position, s.Hash, s.Time.UTC().Format(timeLayout), s.Note)
	if err != nil {
		return fmt.Errorf("checkpoint: store: %w", err)
	}
	return nil
}

// Latest returns the checkpoint at the highest position; ok is false when
// there is none.
func (t *Table) Latest(ctx context.Context) (s Stored, ok bool, err error) {
	row := t.db.QueryRowContext(ctx, `SELECT position, hash, time, note FROM `+TableName+`
		ORDER BY position DESC LIMIT 1`)
	s, err = scanStored(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Stored{}, false, nil
	}
	if err != nil {
		return Stored{}, false, fmt.Errorf("checkpoint: latest: %w", err)
	}
	return s, true, nil
}

// List returns every checkpoint kept, by position.
func (t *Table) List(ctx context.Context) ([]Stored, error) {
	return List(ctx, t.db)
}

// List reads the checkpoints kept in db without creating the table: a
// database without one has none. It never writes, so a verifier can use it
// on a database under examination.
func List(ctx context.Context, db *sql.DB) ([]Stored, error) {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`,
		TableName).Scan(&n); err != nil {
		return nil, fmt.Errorf("checkpoint: list: %w", err)
	}
	if n == 0 {
		return nil, nil
	}
	rows, err := db.QueryContext(ctx, `SELECT position, hash, time, note FROM `+TableName+` ORDER BY position`)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: list: %w", err)
	}
	defer rows.Close()
	var out []Stored
	for rows.Next() {
		s, err := scanStored(rows)
		if err != nil {
			return nil, fmt.Errorf("checkpoint: list: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("checkpoint: list: %w", err)
	}
	return out, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanStored(r scanner) (Stored, error) {
	var s Stored
	var at string
	if err := r.Scan(&s.Position, &s.Hash, &at, &s.Note); err != nil {
		return s, err
	}
	t, err := time.Parse(timeLayout, at)
	if err != nil {
		return s, fmt.Errorf("bad stored time %q: %w", at, err)
	}
	s.Time = t
	if c, err := Parse([]byte(s.Note)); err == nil {
		s.Origin = c.Origin
	}
	return s, nil
}
