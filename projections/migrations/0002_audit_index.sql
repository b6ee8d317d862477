-- audit: one row per event of the log, of every type (known to this code or
-- not), with the keys the audit trail filters on. The envelopes stay in the
-- event store; this table only finds their positions.
CREATE TABLE audit_index (
	position       INTEGER PRIMARY KEY,
	stream         TEXT NOT NULL,
	party_id       TEXT,             -- the <id> of a party-<id> stream
	requirement_id TEXT,             -- the data's requirement_id, if any
	type           TEXT NOT NULL,
	actor          TEXT NOT NULL,
	"trigger"      TEXT NOT NULL,
	time           TEXT NOT NULL,    -- eventstore.TimeFormat, UTC
	tmax           TEXT NOT NULL,    -- the latest time up to this position: never decreases
	late           INTEGER NOT NULL  -- 1 when time is before an earlier position's time
) STRICT;

-- One index per filter, each ending in position so that a filter reads its
-- rows in position order from the cursor on, and stops at the page size.
CREATE INDEX audit_stream      ON audit_index (stream, position);
CREATE INDEX audit_party       ON audit_index (party_id, position);
CREATE INDEX audit_requirement ON audit_index (requirement_id, position);
CREATE INDEX audit_type        ON audit_index (type, position);
CREATE INDEX audit_actor       ON audit_index (actor, position);
CREATE INDEX audit_trigger     ON audit_index ("trigger", position);
-- Time ranges become position ranges through tmax (it grows with position);
-- the few events stamped earlier than an event before them are found
-- through audit_late.
CREATE INDEX audit_tmax        ON audit_index (tmax, position);
CREATE INDEX audit_late        ON audit_index (position) WHERE late = 1;

INSERT INTO checkpoints (name, position) VALUES ('audit', 0) ON CONFLICT (name) DO NOTHING;
