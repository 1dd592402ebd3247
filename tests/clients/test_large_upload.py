"""Large blobs stream through the server: memory stays flat on the way in and on the way out, on disk and S3."""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psutil
import pytest

from tests.clients.conftest import unique
from tests.support.server import start_server

SIZE = 1024 * 1024 * 1024
PIECE = 1024 * 1024
LIMIT = 100 * 1024 * 1024
MIB = 1024 * 1024

pytestmark = pytest.mark.slow


class PeakRss(threading.Thread):
    """Samples a process's resident memory every 50 ms until stopped; a failed sample fails the test."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.baseline = self.peak = self.process.memory_info().rss
        self.samples = 0
        self.error: BaseException | None = None
        self.stopping = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                self.peak = max(self.peak, self.process.memory_info().rss)
                self.samples += 1
                self.stopping.wait(0.05)
        except BaseException as exc:  # the server died, say: do not report a flat line
            self.error = exc

    def stop(self) -> int:
        self.stopping.set()
        self.join()
        if self.error is not None:
            raise AssertionError(f"sampling the server's memory failed: {self.error!r}")
        assert self.samples >= 2, f"only {self.samples} memory samples taken"
        return self.peak - self.baseline


def pieces(hasher: Any, size: int = SIZE) -> Iterator[bytes]:
    """`size` deterministic pseudo-random bytes in 1 MiB pieces, each made unique by its counter."""
    block = random.Random(20261122).randbytes(PIECE)
    for i in range(size // PIECE):
        piece = i.to_bytes(8, "big") + block[8:]
        hasher.update(piece)
        yield piece


def test_one_gib_upload_and_download_keep_memory_flat(live_server):
    repo = unique("large")
    sent = hashlib.sha256()
    with httpx.Client(base_url=live_server.url, auth=("ci", live_server.token), timeout=120) as client:
        r = client.post(f"/v2/{repo}/blobs/uploads/")
        assert r.status_code == 202, r.text
        location = r.headers["location"]

        monitor = PeakRss(live_server.process.pid)
        baseline = monitor.baseline
        monitor.start()
        started = time.monotonic()
        r = client.patch(location, content=pieces(sent), headers={"Content-Type": "application/octet-stream"})
        assert r.status_code == 202, r.text
        assert r.headers["range"] == f"0-{SIZE - 1}"
        digest = f"sha256:{sent.hexdigest()}"
        r = client.put(r.headers["location"], params={"digest": digest})
        upload_seconds = time.monotonic() - started
        upload_growth = monitor.stop()
        assert r.status_code == 201, r.text
        assert r.headers["docker-content-digest"] == digest
        assert r.headers["location"] == f"/v2/{repo}/blobs/{digest}"

        r = client.head(f"/v2/{repo}/blobs/{digest}")
        assert r.status_code == 200
        assert r.headers["content-length"] == str(SIZE)
        assert r.headers["docker-content-digest"] == digest

        monitor = PeakRss(live_server.process.pid)
        monitor.start()
        started = time.monotonic()
        received = hashlib.sha256()
        count = 0
        with client.stream("GET", f"/v2/{repo}/blobs/{digest}") as response:
            assert response.status_code == 200
            assert response.headers["content-length"] == str(SIZE)
            for chunk in response.iter_bytes(PIECE):
                received.update(chunk)
                count += len(chunk)
        download_seconds = time.monotonic() - started
        download_growth = monitor.stop()

        assert client.delete(f"/v2/{repo}/blobs/{digest}").status_code == 202  # unlink: nothing else needs it
        assert client.head(f"/v2/{repo}/blobs/{digest}").status_code == 404

    print(
        f"\n1 GiB blob, server RSS baseline {baseline / MIB:.0f} MiB:"
        f" upload {upload_seconds:.1f} s, {SIZE / upload_seconds / MIB:.0f} MiB/s, peak RSS growth {upload_growth / MIB:.1f} MiB;"
        f" download {download_seconds:.1f} s, {SIZE / download_seconds / MIB:.0f} MiB/s, peak RSS growth {download_growth / MIB:.1f} MiB"
    )
    assert count == SIZE
    assert f"sha256:{received.hexdigest()}" == digest
    assert upload_growth < LIMIT, f"upload grew server memory by {upload_growth / MIB:.0f} MiB"
    assert download_growth < LIMIT, f"download grew server memory by {download_growth / MIB:.0f} MiB"


S3_SIZE = int(os.environ.get("WHARF_TEST_S3_UPLOAD_MIB", "200")) * MIB  # past LIMIT: unbounded buffering would show


def test_upload_to_s3_keeps_memory_flat(s3_server, tmp_path):
    """Parts go to S3 as they fill; the download is a redirect, so Wharf's memory stays flat either way."""
    data = tmp_path / "data"
    server = start_server(data, f"sqlite+aiosqlite:///{data / 'wharf.db'}", extra_env=s3_server.env("large/"))
    repo, sent = unique("large-s3"), hashlib.sha256()
    try:
        with httpx.Client(base_url=server.url, auth=("ci", server.token), timeout=300) as client:
            warm = b"opens the S3 client and loads its service model: a one-time cost, not per upload"
            r = client.post(
                f"/v2/{repo}/blobs/uploads/",
                params={"digest": f"sha256:{hashlib.sha256(warm).hexdigest()}"},
                content=warm,
            )
            assert r.status_code == 201, r.text
            location = client.post(f"/v2/{repo}/blobs/uploads/").headers["location"]
            monitor = PeakRss(server.process.pid)
            baseline = monitor.baseline
            monitor.start()
            started = time.monotonic()
            r = client.patch(
                location, content=pieces(sent, S3_SIZE), headers={"Content-Type": "application/octet-stream"}
            )
            assert r.status_code == 202, r.text
            patched = time.monotonic()
            digest = f"sha256:{sent.hexdigest()}"
            r = client.put(r.headers["location"], params={"digest": digest})
            finished = time.monotonic()
            growth = monitor.stop()
            assert r.status_code == 201, r.text
            r = client.get(f"/v2/{repo}/blobs/{digest}")
            assert r.status_code == 307
            received, count = hashlib.sha256(), 0
            started_download = time.monotonic()
            with httpx.stream("GET", r.headers["location"], timeout=300) as response:  # straight from S3
                for chunk in response.iter_bytes(PIECE):
                    received.update(chunk)
                    count += len(chunk)
            download_seconds = time.monotonic() - started_download
    finally:
        server.stop()
    print(
        f"\n{S3_SIZE // MIB} MiB blob to S3, server RSS baseline {baseline / MIB:.0f} MiB:"
        f" PATCH {patched - started:.1f} s ({S3_SIZE / (patched - started) / MIB:.0f} MiB/s),"
        f" PUT (complete + server-side copy) {finished - patched:.1f} s, peak RSS growth {growth / MIB:.1f} MiB;"
        f" presigned download {S3_SIZE / download_seconds / MIB:.0f} MiB/s"
    )
    assert count == S3_SIZE and f"sha256:{received.hexdigest()}" == digest
    assert growth < LIMIT, f"upload grew server memory by {growth / MIB:.0f} MiB"
