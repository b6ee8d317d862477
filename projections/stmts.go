package projections

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
)

// stmtCache holds the projections' write statements across batches. A
// statement is prepared on the writer pool once and bound to each batch's
// transaction with [sql.Tx.StmtContext], which reuses the statement already
// prepared on the transaction's connection: a live batch of one event no
// longer prepares the twenty-odd statements of the projections again.
//
// A statement is first prepared on the transaction that asks for it (the
// writer pool may have one connection, which that transaction holds) and
// recorded as wanted; [stmtCache.prepareWanted], called by the runner
// between batches, prepares the wanted ones on the pool. Only the runner
// uses it, under applyMu; the mutex keeps it safe all the same.
type stmtCache struct {
	db     *sql.DB
	mu     sync.Mutex
	held   map[string]*sql.Stmt
	wanted []string
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, held: map[string]*sql.Stmt{}}
}

// prepare returns q as a statement of tx: the held one bound to tx, or, the
// first time, one prepared on tx alone (closed with it).
func (c *stmtCache) prepare(ctx context.Context, tx *sql.Tx, q string) (*sql.Stmt, error) {
	c.mu.Lock()
	s, ok := c.held[q]
	if !ok {
		c.held[q] = nil // wanted once
		c.wanted = append(c.wanted, q)
	}
	c.mu.Unlock()
	if s == nil {
		return tx.PrepareContext(ctx, q)
	}
	return tx.StmtContext(ctx, s), nil
}

// prepareWanted prepares on the pool the statements asked for since the
// last call. It must not be called while a transaction of a one-connection
// pool is open. A statement that fails to prepare stays unheld (prepare
// then prepares it per batch, which reports the error where it matters).
func (c *stmtCache) prepareWanted(ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, q := range c.wanted {
		if s, err := c.db.PrepareContext(ctx, q); err == nil {
			c.held[q] = s
		}
	}
	c.wanted = c.wanted[:0]
}

// heldStmts is embedded by the projections whose statements the
// [stmtCache] holds; [Open] gives it the cache. Without one (a projection
// built outside Open) statements are prepared per batch.
type heldStmts struct{ stmts *stmtCache }

func (h *heldStmts) useStmts(c *stmtCache) { h.stmts = c }

// stmtUser is a projection that takes the read model's [stmtCache].
type stmtUser interface{ useStmts(*stmtCache) }

func (h *heldStmts) prepare(ctx context.Context, tx *sql.Tx, q string) (*sql.Stmt, error) {
	if h.stmts == nil {
		return tx.PrepareContext(ctx, q)
	}
	return h.stmts.prepare(ctx, tx, q)
}

// rowBuffer collects the rows of one INSERT during a batch and writes them
// in multi-row statements of rowsPerStmt rows (the rest in one statement at
// [rowBuffer.flush]): one statement step, not one per row, for the tables
// that get a row per event (the audit index, the change feed). Rows are
// written before the batch commits, so nothing that reads the table after
// the batch can tell; nothing reads these tables during a batch.
type rowBuffer struct {
	heldStmts
	head, tail  string // "INSERT INTO t (a, b) VALUES", " ON CONFLICT …"
	cols        int
	rowsPerStmt int
	tx          *sql.Tx
	args        []any
	full        string // the INSERT of rowsPerStmt rows
}

// newRowBuffer returns a buffer for INSERT head (cols placeholders) tail.
// rowsPerStmt × cols stays well under SQLite's limit on bound parameters.
func newRowBuffer(head, tail string, cols, rowsPerStmt int) *rowBuffer {
	return &rowBuffer{head: head, tail: tail, cols: cols, rowsPerStmt: rowsPerStmt}
}

func (b *rowBuffer) begin(tx *sql.Tx) { b.tx = tx }

// end forgets the batch's rows (written or not) and its transaction.
func (b *rowBuffer) end() {
	clear(b.args)
	b.args, b.tx = b.args[:0], nil
}

// add appends one row of cols values, writing a full statement's rows.
func (b *rowBuffer) add(ctx context.Context, vals ...any) error {
	b.args = append(b.args, vals...)
	if len(b.args) < b.rowsPerStmt*b.cols {
		return nil
	}
	if b.full == "" {
		b.full = b.query(b.rowsPerStmt)
	}
	s, err := b.prepare(ctx, b.tx, b.full)
	if err == nil {
		err = execFused(ctx, s, b.args)
	}
	clear(b.args)
	b.args = b.args[:0]
	return err
}

// flush writes the rows not yet written, in one statement (held too: a
// live batch of one event writes its row with a held one-row INSERT).
func (b *rowBuffer) flush(ctx context.Context) error {
	if len(b.args) == 0 {
		return nil
	}
	s, err := b.prepare(ctx, b.tx, b.query(len(b.args)/b.cols))
	if err == nil {
		err = execFused(ctx, s, b.args)
	}
	clear(b.args)
	b.args = b.args[:0]
	return err
}

// query is the INSERT of n rows.
func (b *rowBuffer) query(n int) string {
	row := "(" + strings.Repeat("?, ", b.cols-1) + "?)"
	var sb strings.Builder
	sb.Grow(len(b.head) + len(b.tail) + n*(len(row)+2))
	sb.WriteString(b.head)
	for i := range n {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(row)
	}
	sb.WriteString(b.tail)
	return sb.String()
}

// execFused runs a statement that returns no rows (the row buffers'
// INSERTs) through QueryContext rather than ExecContext. go-sqlite3's exec
// path binds each value with a cgo call of its own (an INSERT of 32 feed
// rows is 640 of them), while its query path copies the values into one C
// buffer and binds them and takes the first step in a single cgo call; the
// statement runs at that step (the driver documents that a data-modifying
// statement issued through Query executes even if Next is never called).
// Measured on a 100k-event rebuild: the per-value binding was most of
// writing the feed and audit rows. Errors come back from QueryContext, or
// from the rows when they close.
func execFused(ctx context.Context, s *sql.Stmt, args []any) error {
	rows, err := s.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	for rows.Next() { // an INSERT has no rows; drain in case one is given RETURNING
	}
	return errors.Join(rows.Err(), rows.Close())
}
