-- changes: relationship items (relationship.established, .revised, .ended)
-- name their relationship: relationship_id for the party history query, and
-- the relationship as the feed showed it (JSON). change_relationships keeps
-- the ends, kind and label the feed shows, as change_parties does for
-- parties. The feed is wiped and rebuilt from the log, so that relationship
-- events recorded before this migration become items too.
ALTER TABLE changes ADD COLUMN relationship_id TEXT;
ALTER TABLE changes ADD COLUMN relationship TEXT;
CREATE INDEX changes_relationship ON changes (relationship_id) WHERE relationship_id IS NOT NULL;

CREATE TABLE change_relationships (
	id            TEXT PRIMARY KEY,
	from_party_id TEXT NOT NULL,
	to_party_id   TEXT NOT NULL,
	kind          TEXT NOT NULL,
	label         TEXT NOT NULL
) STRICT;

DELETE FROM changes;
DELETE FROM change_parties;
DELETE FROM change_requirements;
DELETE FROM change_objectives;
DELETE FROM change_kpis;
UPDATE checkpoints SET position = 0 WHERE name = 'changes';
