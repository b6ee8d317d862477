-- A party's relationships in any status (GET /relationships?party=…&status=all|ended):
-- relationships_from covers active relationships only, so without this index
-- the from side of such a read walked the whole relationships table.
CREATE INDEX relationships_from_all ON relationships (from_party_id);
