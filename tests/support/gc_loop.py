"""Run garbage collection over and over in its own process until a stop file appears; print totals.

`python -m tests.support.gc_loop DATABASE_URL STORE_ROOT REPOSITORY GRACE_SECONDS STOP_FILE`
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import timedelta
from pathlib import Path

from registry.gc import collect
from registry.sql import create_engine
from registry.storage.filesystem import FilesystemBlobStore

# A breath between runs, so a push can sometimes finish between two collections; without it, a collector
# looping flat out on a busy machine can refuse every push with no grace at all, and the no-grace test
# would then check nothing.
PAUSE = 0.05


async def main(url: str, root: str, repository: str, grace: float, stop: Path) -> dict[str, int]:
    engine = create_engine(url)
    store = FilesystemBlobStore(Path(root))
    totals = {"runs": 0, "manifests": 0, "links": 0, "blobs": 0}
    try:
        while not stop.exists():
            result = await collect(engine, store, timedelta(seconds=grace), repository=repository, delete=True)
            totals["runs"] += 1
            totals["manifests"] += len(result.manifests)
            totals["links"] += len(result.links)
            totals["blobs"] += len(result.blobs)
            await asyncio.sleep(PAUSE)
    finally:
        await engine.dispose()
    return totals


if __name__ == "__main__":
    url, root, repository, grace, stop = sys.argv[1:6]
    print(json.dumps(asyncio.run(main(url, root, repository, float(grace), Path(stop)))))
