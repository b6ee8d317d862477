package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/partyledger/partyledger/domain"
)

// TokenRecord is a token as a [TokenStore] keeps it: the token and the
// SHA-256 of its secret (hex), never the secret.
type TokenRecord struct {
	Token
	Hash string `json:"hash"`
}

// TokenStore is where [Tokens] keeps its records: a SQLite table of the
// local database (one process), or a JetStream key-value bucket that every
// replica of a service shares ([NewKVTokenStore]). Implementations must be
// safe for concurrent use.
type TokenStore interface {
	// Create stores rec unless a token with the same name, in any case,
	// exists or existed. It returns errNameTaken if so.
	Create(ctx context.Context, rec TokenRecord) error
	// ByHash returns the token whose secret has this hash, or errNoToken.
	ByHash(ctx context.Context, hash string) (TokenRecord, error)
	// ByName returns the token named exactly name, or errNoToken.
	ByName(ctx context.Context, name string) (TokenRecord, error)
	// List returns every token, revoked ones included, by name.
	List(ctx context.Context) ([]TokenRecord, error)
	// Revoke marks the active token named name revoked at at. It fails
	// with ENOTFOUND if no active token has that name.
	Revoke(ctx context.Context, name string, at time.Time) error
	// Remove takes back a token just created whose creation could not be
	// recorded in the event log, so that it was never made.
	Remove(ctx context.Context, name string) error
}

// errNameTaken and errNoToken are the stores' answers that [Tokens]
// turns into domain errors or ErrUnauthenticated.
var (
	errNameTaken = errors.New("auth: token name taken")
	errNoToken   = errors.New("auth: no such token")
)

// sqliteTokens is the token table of a SQLite database.
type sqliteTokens struct{ db *sql.DB }

func newSQLiteTokens(ctx context.Context, db *sql.DB) (*sqliteTokens, error) {
	_, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS tokens (
		name       TEXT PRIMARY KEY,
		role       TEXT NOT NULL,
		hash       TEXT NOT NULL UNIQUE,
		created_at TEXT NOT NULL,
		expires_at TEXT,
		revoked_at TEXT
	)`)
	if err != nil {
		return nil, fmt.Errorf("auth: create tokens table: %w", err)
	}
	return &sqliteTokens{db: db}, nil
}

func (s *sqliteTokens) Create(ctx context.Context, rec TokenRecord) error {
	var used int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM tokens WHERE name = ? COLLATE NOCASE`, rec.Name).Scan(&used); err != nil {
		return fmt.Errorf("auth: create token %s: %w", rec.Name, err)
	}
	if used > 0 {
		return errNameTaken
	}
	var exp any
	if rec.ExpiresAt != nil {
		exp = rec.ExpiresAt.UTC().Format(time.RFC3339Nano)
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO tokens (name, role, hash, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`,
		rec.Name, rec.Role, rec.Hash, rec.CreatedAt.UTC().Format(time.RFC3339Nano), exp)
	if err != nil {
		return fmt.Errorf("auth: create token %s: %w", rec.Name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errNameTaken
	}
	return nil
}

const tokenColumns = `name, role, created_at, expires_at, revoked_at, hash`

func (s *sqliteTokens) ByHash(ctx context.Context, hash string) (TokenRecord, error) {
	return s.one(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE hash = ?`, hash)
}

func (s *sqliteTokens) ByName(ctx context.Context, name string) (TokenRecord, error) {
	return s.one(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE name = ?`, name)
}

func (s *sqliteTokens) one(ctx context.Context, q, arg string) (TokenRecord, error) {
	rec, err := scanToken(s.db.QueryRowContext(ctx, q, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return TokenRecord{}, errNoToken
	}
	if err != nil {
		return TokenRecord{}, fmt.Errorf("auth: look up token: %w", err)
	}
	return rec, nil
}

func (s *sqliteTokens) List(ctx context.Context) ([]TokenRecord, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+tokenColumns+` FROM tokens ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("auth: list tokens: %w", err)
	}
	defer rows.Close()
	out := []TokenRecord{}
	for rows.Next() {
		rec, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("auth: list tokens: %w", err)
		}
		out = append(out, rec)
	}
	return out, rows.Err()
}

func (s *sqliteTokens) Revoke(ctx context.Context, name string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL`,
		at.UTC().Format(time.RFC3339Nano), name)
	if err != nil {
		return fmt.Errorf("auth: revoke %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return domain.Errorf(domain.ENOTFOUND, "no active token named %s", name)
	}
	return nil
}

func (s *sqliteTokens) Remove(ctx context.Context, name string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM tokens WHERE name = ?`, name)
	return err
}

type scanner interface{ Scan(...any) error }

func scanToken(s scanner) (TokenRecord, error) {
	var rec TokenRecord
	var created string
	var expires, revoked sql.NullString
	if err := s.Scan(&rec.Name, &rec.Role, &created, &expires, &revoked, &rec.Hash); err != nil {
		return TokenRecord{}, err
	}
	var err error
	if rec.CreatedAt, err = time.Parse(time.RFC3339Nano, created); err != nil {
		return TokenRecord{}, err
	}
	for _, p := range []struct {
		s   sql.NullString
		dst **time.Time
	}{{expires, &rec.ExpiresAt}, {revoked, &rec.RevokedAt}} {
		if p.s.Valid {
			v, err := time.Parse(time.RFC3339Nano, p.s.String)
			if err != nil {
				return TokenRecord{}, err
			}
			*p.dst = &v
		}
	}
	return rec, nil
}
