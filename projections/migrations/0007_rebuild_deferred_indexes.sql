-- Secondary indexes that Rebuild drops before a replay and creates again
-- after it (see projections/rebuild.go). A row here is an index that is
-- currently dropped; Open creates it again if a rebuild died half-way.
CREATE TABLE deferred_indexes (
    name TEXT PRIMARY KEY,
    sql  TEXT NOT NULL
) STRICT;
