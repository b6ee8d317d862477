-- The register's order (internal parties first, then the name key, then
-- the id) as an index, so that a page of the register reads its parties in
-- order instead of sorting every party first.
--
-- register_rank (0 for an internal party, 1 otherwise: Cursor.Rank) is a
-- virtual generated column: SQLite computes it from scope when it reads or
-- indexes a row, so the register projection writes nothing new and an
-- existing read model needs no rebuild. It is a column, not an indexed
-- expression, because SQLite uses an index for a row-value keyset condition
-- ((register_rank, name_key, id) > (?, ?, ?)) only on columns.
ALTER TABLE parties ADD COLUMN register_rank INTEGER
	GENERATED ALWAYS AS (scope <> 'internal') VIRTUAL;

-- The default register (one status) and the register of every status.
CREATE INDEX parties_register_order ON parties (status, register_rank, name_key, id);
CREATE INDEX parties_register_order_all ON parties (register_rank, name_key, id);
