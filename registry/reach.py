"""The one query behind entitlement by digest: which tags ever reached a digest."""

from __future__ import annotations

from sqlalchemy import text

# Walk "readable if" edges upwards from a digest: a blob or child manifest is readable if a manifest
# holding it is; a referrer is readable if its subject is. Then collect the tags of everything reached.
REACH_TAGS = text("""
WITH RECURSIVE
  repo(id) AS (SELECT id FROM repositories WHERE name = :repository),
  edges(child, parent) AS (
    SELECT r.digest, m.digest FROM manifest_references r JOIN manifests m ON m.id = r.manifest_id
    WHERE m.repository_id = (SELECT id FROM repo)
    UNION ALL
    SELECT m.digest, m.subject FROM manifests m
    WHERE m.repository_id = (SELECT id FROM repo) AND m.subject IS NOT NULL
  ),
  up(digest) AS (
    SELECT CAST(:digest AS VARCHAR(135))
    UNION
    SELECT e.parent FROM edges e JOIN up ON e.child = up.digest
  )
SELECT DISTINCT h.tag FROM tag_history h
WHERE h.repository_id = (SELECT id FROM repo) AND h.digest IN (SELECT digest FROM up)
""")
