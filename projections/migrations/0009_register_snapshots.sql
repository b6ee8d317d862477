-- register_snapshots: persistent as_of snapshots of the register (see
-- projections/snapshots.go). One row per snapshot, every N positions of the
-- log; the parties' states are kept per party and only when they changed:
-- the state of party p in the snapshot at through T is its row in
-- register_snapshot_parties with the greatest through <= T.
CREATE TABLE register_snapshots (
	through  INTEGER PRIMARY KEY, -- the last position folded (or skipped)
	position INTEGER NOT NULL,    -- the last party event folded, 0 for none
	tmax     INTEGER NOT NULL     -- the latest event time up to through, Unix nanoseconds
) STRICT;

CREATE TABLE register_snapshot_parties (
	party_id TEXT NOT NULL,
	through  INTEGER NOT NULL,    -- the snapshot this state was written for
	data     BLOB NOT NULL,       -- JSON: the party's state (snapshotParty)
	PRIMARY KEY (party_id, through)
) STRICT;

INSERT INTO checkpoints (name, position) VALUES ('register_snapshots', 0) ON CONFLICT (name) DO NOTHING;
