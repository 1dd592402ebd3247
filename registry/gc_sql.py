"""The mark phase of garbage collection as SQL: which manifests, blob links and blobs are dead.

A manifest is live if it is tagged or younger than the cutoff, or if a live manifest lists it
(index -> child) or it refers to a live manifest (a referrer whose subject lives). Everything
else in its repository is dead. A repository -> blob link is dead when it is older than the
cutoff and no live manifest of that repository references the blob.
"""

# ruff: noqa: S608  (the SQL is joined from constant fragments only; values are bound parameters)

from __future__ import annotations

from sqlalchemy import DateTime, Integer, TextClause, bindparam, text


def _scope(scoped: bool, column: str) -> str:
    return f"AND {column} = :repo" if scoped else ""


def _live(scoped: bool) -> str:
    """`live(repository_id, digest)`: what the tags (and fresh pushes) keep, walked down the graph."""
    only = _scope(scoped, "m.repository_id")
    return f"""
WITH RECURSIVE
  edges(repository_id, parent, child) AS (
    SELECT m.repository_id, m.digest, r.digest
    FROM manifest_references r JOIN manifests m ON m.id = r.manifest_id
    WHERE r.is_manifest {only}
    UNION ALL
    SELECT m.repository_id, m.subject, m.digest FROM manifests m WHERE m.subject IS NOT NULL {only}
  ),
  live(repository_id, digest) AS (
    SELECT m.repository_id, m.digest FROM manifests m
    WHERE (m.created_at >= :cutoff OR EXISTS (SELECT 1 FROM tags t WHERE t.manifest_id = m.id)) {only}
    UNION
    SELECT e.repository_id, e.child FROM edges e
    JOIN live l ON l.repository_id = e.repository_id AND l.digest = e.parent
  )"""


# A link is kept while a live manifest of its repository references the blob.
_LIVE_REFERENCE = """EXISTS (
    SELECT 1 FROM manifest_references r JOIN manifests m ON m.id = r.manifest_id
    JOIN live l ON l.repository_id = m.repository_id AND l.digest = m.digest
    WHERE m.repository_id = rb.repository_id AND r.digest = rb.digest)"""


def _typed(sql: str, scoped: bool) -> TextClause:
    stmt = text(sql).bindparams(bindparam("cutoff", type_=DateTime(timezone=True)))
    return stmt.bindparams(bindparam("repo", type_=Integer())) if scoped else stmt


def dead_manifests(scoped: bool, limit: int | None) -> TextClause:
    """(id, repository, digest, size) of dead manifests, oldest id first."""
    return _typed(
        f"""{_live(scoped)}
SELECT m.id, p.name AS repository, m.digest, m.size FROM manifests m JOIN repositories p ON p.id = m.repository_id
WHERE NOT EXISTS (SELECT 1 FROM live l WHERE l.repository_id = m.repository_id AND l.digest = m.digest)
{_scope(scoped, "m.repository_id")}
ORDER BY m.id {f"LIMIT {int(limit)}" if limit else ""}""",
        scoped,
    )


def dead_links(scoped: bool, limit: int | None) -> TextClause:
    """(repository_id, repository, digest) of dead repository -> blob links."""
    return _typed(
        f"""{_live(scoped)}
SELECT rb.repository_id, p.name AS repository, rb.digest
FROM repository_blobs rb JOIN repositories p ON p.id = rb.repository_id
WHERE rb.created_at < :cutoff {_scope(scoped, "rb.repository_id")} AND NOT {_LIVE_REFERENCE}
ORDER BY rb.repository_id, rb.digest {f"LIMIT {int(limit)}" if limit else ""}""",
        scoped,
    )


def doomed_blobs(scoped: bool) -> TextClause:
    """(digest, size) of old blobs every link of which is dead (for a dry run, nothing deleted yet).

    Scoped to one repository, only blobs linked there count, and links elsewhere are kept."""
    elsewhere = "OR rb.repository_id <> :repo" if scoped else ""
    linked_here = (
        "AND EXISTS (SELECT 1 FROM repository_blobs h WHERE h.digest = b.digest AND h.repository_id = :repo)"
        if scoped
        else ""
    )
    return _typed(
        f"""{_live(scoped)}
SELECT b.digest, b.size FROM blobs b
WHERE b.created_at < :cutoff {linked_here}
AND NOT EXISTS (
    SELECT 1 FROM repository_blobs rb
    WHERE rb.digest = b.digest AND (rb.created_at >= :cutoff {elsewhere} OR {_LIVE_REFERENCE}))
ORDER BY b.digest""",
        scoped,
    )
