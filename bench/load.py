"""The load phase: many concurrent pulls of one image by many customer tokens for a while (aiohttp).

Each of `concurrency` clients loops until the time is up: GET the manifest with one of the customer tokens,
then every blob it names, reading and dropping the bytes. Counted: pulls completed, manifest GETs answered
(200), errors of any kind (status, connection, short body), bytes, and the server's RSS (sampled). Afterwards
the manifest GETs Wharf recorded (its download events, with this run's User-Agent) are compared with the
manifest GETs the clients got answered.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.clients import OCI_MANIFEST
from bench.fixtures import basic
from bench.servers import Server

READ_CHUNK = 1024 * 1024


@dataclass
class LoadResult:
    seconds: float
    concurrency: int
    tokens: int
    pulls: int = 0
    manifest_gets: int = 0
    bytes: int = 0
    errors: list[str] = field(default_factory=list)
    rss_start: int = 0
    rss_peak: int = 0
    recorded_manifest_gets: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {**vars(self), "errors": len(self.errors), "error_samples": self.errors[:10]}


async def _pull(
    session: aiohttp.ClientSession, base: str, repo: str, headers: dict[str, str], result: LoadResult
) -> None:
    async with session.get(f"{base}/v2/{repo}/manifests/v1", headers={"Accept": OCI_MANIFEST, **headers}) as r:
        body = await r.read()
        if r.status != 200:
            raise RuntimeError(f"manifest GET: {r.status}")
        result.manifest_gets += 1
    manifest = json.loads(body)
    for blob in [manifest["config"], *manifest["layers"]]:
        got = 0
        async with session.get(f"{base}/v2/{repo}/blobs/{blob['digest']}", headers=headers) as r:
            if r.status != 200:
                raise RuntimeError(f"blob GET: {r.status}")
            async for chunk in r.content.iter_chunked(READ_CHUNK):
                got += len(chunk)
        if got != blob["size"]:
            raise RuntimeError(f"blob {blob['digest']}: {got} of {blob['size']} bytes")
        result.bytes += got
    result.pulls += 1


async def _client(
    n: int, base: str, repo: str, tokens: list[str], agent: str, deadline: float, result: LoadResult
) -> None:
    headers = {**basic(tokens[n % len(tokens)]), "User-Agent": agent}
    connector = aiohttp.TCPConnector(limit=1)  # one connection per client, like one registry client
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        while time.monotonic() < deadline:
            try:
                await _pull(session, base, repo, headers, result)
            except (aiohttp.ClientError, RuntimeError, TimeoutError) as exc:
                result.errors.append(f"{type(exc).__name__}: {exc}")


async def _sample_rss(server: Server, deadline: float, result: LoadResult) -> None:
    while time.monotonic() < deadline:
        result.rss_peak = max(result.rss_peak, server.rss_bytes())
        await asyncio.sleep(0.5)


async def _run(
    server: Server, repo: str, tokens: list[str], seconds: float, concurrency: int, agent: str
) -> LoadResult:
    result = LoadResult(seconds, concurrency, len(tokens))
    result.rss_start = result.rss_peak = server.rss_bytes()
    deadline = time.monotonic() + seconds
    base = f"http://{server.host}"
    clients = [_client(n, base, repo, tokens, agent, deadline, result) for n in range(concurrency)]
    await asyncio.gather(_sample_rss(server, deadline, result), *clients)
    result.rss_peak = max(result.rss_peak, server.rss_bytes())
    return result


def run(
    server: Server,
    repo: str,
    tokens: list[str],
    seconds: float,
    concurrency: int,
    recorded: Callable[[str], Awaitable[int]] | None = None,
) -> LoadResult:
    """Load `server` and, with `recorded` (User-Agent -> manifest GETs stored), compare what it recorded
    once its audit writer has caught up (bounded wait)."""
    agent = f"wharf-bench-load/{uuid.uuid4().hex[:8]}"
    result = asyncio.run(_run(server, repo, tokens, seconds, concurrency, agent))
    if recorded is not None:
        deadline = time.monotonic() + 120
        while True:
            result.recorded_manifest_gets = asyncio.run(recorded(agent))
            if result.recorded_manifest_gets >= result.manifest_gets or time.monotonic() > deadline:
                break
            time.sleep(1)
    return result
