"""Keep one process's metadata caches honest about writes made elsewhere (another node, `wharf gc`).

Every few seconds: tags moved anywhere (new `tag_history` rows, read again for LOOK_BACK_SECONDS so
a push that committed late is not missed) are dropped from the tag cache; a tag deleted anywhere (the
`tags_deleted` counter) drops the whole tag cache; a garbage collection drops every cache.
"""

from __future__ import annotations

import time
from collections import deque

from sqlalchemy import func, select

from registry import counters
from registry.metadata import Metadata, repositories, tag_history

LOOK_BACK_SECONDS = 30.0


class ChangeWatcher:
    def __init__(self, metadata: Metadata) -> None:
        self.metadata = metadata
        self._marks: deque[tuple[float, int]] = deque()  # (when, highest tag_history id seen then)
        self._deleted: int | None = None

    async def poll(self) -> None:
        """One look at what changed elsewhere; cheap enough to run every couple of seconds."""
        await self.metadata.drop_if_collected()
        now = time.monotonic()
        async with self.metadata.engine.connect() as conn:
            deleted = await counters.value(conn, counters.TAGS_DELETED)
            if not self._marks:  # first look: start from here, with nothing cached from before
                newest = (await conn.execute(select(func.max(tag_history.c.id)))).scalar() or 0
                self.metadata.forget_all_tags()
                self._deleted = deleted
                self._marks.append((now, newest))
                return
            floor = self._marks[0][1]  # the newest id of LOOK_BACK_SECONDS ago: commits arrive out of id order
            moved = (
                await conn.execute(
                    select(tag_history.c.id, repositories.c.name, tag_history.c.tag)
                    .join(repositories, repositories.c.id == tag_history.c.repository_id)
                    .where(tag_history.c.id > floor)
                )
            ).all()
        if deleted != self._deleted:
            self.metadata.forget_all_tags()
            self._deleted = deleted
        else:
            self.metadata.forget_tags((name, tag) for _, name, tag in moved)
        self._marks.append((now, max([self._marks[-1][1], *(row.id for row in moved)])))
        while len(self._marks) > 1 and self._marks[1][0] <= now - LOOK_BACK_SECONDS:
            self._marks.popleft()
