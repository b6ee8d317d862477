package bus

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
)

// Checkpoints keeps each forwarder's position (the last event it published)
// in a table of its own, bus_checkpoints, in a local SQLite database: serve
// gives it the event log's file, beside the webhook subscriptions, not the
// read model, which a rebuild may delete. It is safe for concurrent use.
type Checkpoints struct {
	db *sql.DB
}

// OpenCheckpoints creates the bus tables in db if needed (bus_checkpoints
// and bus_poison, see [PoisonTable]).
func OpenCheckpoints(ctx context.Context, db *sql.DB) (*Checkpoints, error) {
	const schema = `
CREATE TABLE IF NOT EXISTS bus_checkpoints (
	name     TEXT PRIMARY KEY,
	position INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS bus_poison (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	message_uuid TEXT NOT NULL,
	topic        TEXT NOT NULL,
	handler      TEXT NOT NULL,
	reason       TEXT NOT NULL,
	metadata     TEXT NOT NULL,
	payload      BLOB NOT NULL,
	at           TEXT NOT NULL
);`
	if _, err := db.ExecContext(ctx, schema); err != nil {
		return nil, fmt.Errorf("bus: create tables: %w", err)
	}
	return &Checkpoints{db: db}, nil
}

// Load returns the position stored under name, 0 when there is none.
func (c *Checkpoints) Load(ctx context.Context, name string) (int64, error) {
	var pos int64
	err := c.db.QueryRowContext(ctx, `SELECT position FROM bus_checkpoints WHERE name = ?`, name).Scan(&pos)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("bus: load checkpoint %s: %w", name, err)
	}
	return pos, nil
}

// Save stores position under name.
func (c *Checkpoints) Save(ctx context.Context, name string, position int64) error {
	_, err := c.db.ExecContext(ctx, `INSERT INTO bus_checkpoints (name, position) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET position = excluded.position`, name, position)
	if err != nil {
		return fmt.Errorf("bus: save checkpoint %s at %d: %w", name, position, err)
	}
	return nil
}

// PoisonTable is the poison queue of the in-process router: a
// [message.Publisher] that stores each message a handler gave up on, with
// the reason, in the table bus_poison of the database given to
// [OpenCheckpoints]. Nothing reads it automatically; an operator inspects
// it and re-drives what matters. It is safe for concurrent use.
type PoisonTable struct {
	db  *sql.DB
	now func() time.Time
}

// NewPoisonTable returns the poison queue in the bus tables of c.
func (c *Checkpoints) NewPoisonTable() *PoisonTable {
	return &PoisonTable{db: c.db, now: time.Now}
}

// Publish implements [message.Publisher]: it stores every message.
func (p *PoisonTable) Publish(topic string, msgs ...*message.Message) error {
	for _, m := range msgs {
		md, err := json.Marshal(m.Metadata)
		if err != nil {
			return fmt.Errorf("bus: poison %s: %w", m.UUID, err)
		}
		_, err = p.db.Exec(`INSERT INTO bus_poison (message_uuid, topic, handler, reason, metadata, payload, at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, m.UUID, m.Metadata.Get(middleware.PoisonedTopicKey),
			m.Metadata.Get(middleware.PoisonedHandlerKey), m.Metadata.Get(middleware.ReasonForPoisonedKey),
			string(md), []byte(m.Payload), p.now().UTC().Format(time.RFC3339Nano))
		if err != nil {
			return fmt.Errorf("bus: poison %s: %w", m.UUID, err)
		}
	}
	return nil
}

// Close implements [message.Publisher]; the database belongs to the caller.
func (p *PoisonTable) Close() error { return nil }

// Poisoned is one message in the poison queue.
type Poisoned struct {
	MessageUUID string
	Handler     string
	Reason      string
	Payload     []byte
}

// List returns the poisoned messages, oldest first.
func (p *PoisonTable) List(ctx context.Context) ([]Poisoned, error) {
	rows, err := p.db.QueryContext(ctx, `SELECT message_uuid, handler, reason, payload FROM bus_poison ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("bus: list poison: %w", err)
	}
	defer rows.Close()
	var out []Poisoned
	for rows.Next() {
		var q Poisoned
		if err := rows.Scan(&q.MessageUUID, &q.Handler, &q.Reason, &q.Payload); err != nil {
			return nil, fmt.Errorf("bus: list poison: %w", err)
		}
		out = append(out, q)
	}
	return out, rows.Err()
}

// Adopt copies into c the checkpoints stored in old (the read-model file,
// where versions before the change pipeline kept them) that c does not
// have yet, so that moving the checkpoints does not make a forwarder
// publish the whole log again. A database without the table has nothing to
// adopt.
func (c *Checkpoints) Adopt(ctx context.Context, old *sql.DB) error {
	var n int
	if err := old.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'bus_checkpoints'`).Scan(&n); err != nil {
		return fmt.Errorf("bus: adopt checkpoints: %w", err)
	}
	if n == 0 {
		return nil
	}
	rows, err := old.QueryContext(ctx, `SELECT name, position FROM bus_checkpoints`)
	if err != nil {
		return fmt.Errorf("bus: adopt checkpoints: %w", err)
	}
	defer rows.Close()
	type cp struct {
		name string
		pos  int64
	}
	var found []cp
	for rows.Next() {
		var x cp
		if err := rows.Scan(&x.name, &x.pos); err != nil {
			return fmt.Errorf("bus: adopt checkpoints: %w", err)
		}
		found = append(found, x)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("bus: adopt checkpoints: %w", err)
	}
	for _, x := range found {
		if _, err := c.db.ExecContext(ctx, `INSERT INTO bus_checkpoints (name, position) VALUES (?, ?)
			ON CONFLICT (name) DO NOTHING`, x.name, x.pos); err != nil {
			return fmt.Errorf("bus: adopt checkpoint %s: %w", x.name, err)
		}
	}
	return nil
}
