"""Which platform manifest GETs belong to a pull. A client pulling a multi-platform image fetches the
index, then the manifest of its platform: one pull. A platform manifest fetched by digest on its own is a
pull of its own, or a client could fetch platform manifests directly and never be counted.

So the children an index lists are remembered, per caller and repository, for a minute after the caller
fetched the index: in memory only (no database write on the pull path), bounded, least recent forgotten.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from itertools import islice

from registry.lru import LRU

WINDOW_SECONDS = 60.0  # a platform manifest fetched within this after its index is part of that pull
REMEMBERED = 200_000  # (caller, repository, child) entries; past it the least recently listed go first
INDEXES_PARSED = 4_096  # indexes whose children are kept, so a popular index is parsed once
# Distinct children kept per index: real ones list a few dozen platforms and attestations. Without a cap, a
# 4 MiB index listing one digest 50,000 times held 6 MB, times INDEXES_PARSED; with it, at most ~130 MB in all.
CHILDREN_KEPT = 256


class PullGroups:
    def __init__(self, clock: Callable[[], float] = time.monotonic, capacity: int = REMEMBERED) -> None:
        self.clock = clock
        self._listed: LRU[tuple[str, str, str], float] = LRU(capacity)
        self._children: LRU[str, tuple[str, ...]] = LRU(INDEXES_PARSED)

    def index_fetched(self, subject: str, repository: str, digest: str, content: bytes) -> None:
        """`subject` fetched the index `digest` of `repository`: its children are part of that pull for a while."""
        now = self.clock()
        for child in self._children_of(digest, content):
            self._listed.put((subject, repository, child), now)

    def part_of_pull(self, subject: str, repository: str, digest: str) -> bool:
        """Whether `subject` fetched an index of `repository` listing `digest` within the last minute."""
        at = self._listed.get((subject, repository, digest))
        return at is not None and self.clock() - at <= WINDOW_SECONDS

    def _children_of(self, digest: str, content: bytes) -> tuple[str, ...]:
        children = self._children.get(digest)
        if children is None:
            children = _manifest_digests(content)
            self._children.put(digest, children)
        return children


def _manifest_digests(content: bytes) -> tuple[str, ...]:
    """The distinct digests an index lists, the first CHILDREN_KEPT of them (it was validated when pushed;
    anything odd lists nothing). A child past those is fetched as a pull of its own."""
    try:
        entries = json.loads(content).get("manifests")
    except (ValueError, AttributeError):
        return ()
    if not isinstance(entries, list):
        return ()
    found = dict.fromkeys(e["digest"] for e in entries if isinstance(e, dict) and isinstance(e.get("digest"), str))
    return tuple(islice(found, CHILDREN_KEPT))
