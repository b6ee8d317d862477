-- reminders: the recorded reminder digests (reminder.sent and reminder.failed,
-- handlers/reminders), one row per event, and the items each one names
-- (reminder_items: kind and id as the event lists them; for review_due and
-- undecided the id is a requirement's). They give a requirement's history
-- its reminders, the report's loose ends how often each was chased, and the
-- dashboard the failures not yet followed by a sent digest. A new
-- projection: its checkpoint starts at 0, so it catches up from the start of
-- the log on its own.
CREATE TABLE reminders (
	position       INTEGER PRIMARY KEY,
	event_id       TEXT NOT NULL,
	type           TEXT NOT NULL,    -- reminder.sent | reminder.failed
	owner          TEXT NOT NULL,
	owner_key      TEXT NOT NULL,    -- domain.OwnerKey(owner)
	cadence_window TEXT NOT NULL,    -- the digest's window (a local date)
	recipients     TEXT NOT NULL,    -- JSON array of addresses
	message_id     TEXT NOT NULL,
	error          TEXT NOT NULL,
	attempts       INTEGER NOT NULL,
	time           TEXT NOT NULL,    -- eventstore.TimeFormat, UTC
	actor          TEXT NOT NULL,
	reason         TEXT NOT NULL,
	"trigger"      TEXT NOT NULL
) STRICT;
CREATE INDEX reminders_type_owner ON reminders (type, owner_key, position);

CREATE TABLE reminder_items (
	item_id  TEXT NOT NULL,
	position INTEGER NOT NULL,
	kind     TEXT NOT NULL,
	PRIMARY KEY (item_id, position, kind)
) STRICT;

INSERT INTO checkpoints (name, position) VALUES ('reminders', 0) ON CONFLICT (name) DO NOTHING;
