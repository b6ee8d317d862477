-- The party states of the as_of snapshots are stored in a compact binary
-- encoding (projections/snapshot_codec.go) instead of JSON: a first as_of
-- decodes every state of a snapshot, and the JSON decoding was most of it.
-- The snapshots written in JSON are dropped and the snapshots projection
-- rebuilds them from the log on the next Run, while the others resume where
-- they were.
DELETE FROM register_snapshot_parties;
DELETE FROM register_snapshots;
UPDATE checkpoints SET position = 0 WHERE name = 'register_snapshots';
