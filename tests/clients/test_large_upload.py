"""A 1 GiB blob streams through the server: memory stays flat on the way in and on the way out."""

from __future__ import annotations

import hashlib
import threading
import time

import httpx
import psutil
import pytest

from tests.clients.conftest import unique

SIZE = 1024 * 1024 * 1024
PIECE = 1024 * 1024
LIMIT = 100 * 1024 * 1024

pytestmark = pytest.mark.slow


class PeakRss(threading.Thread):
    """Samples a process's resident memory every 50 ms until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.baseline = self.peak = self.process.memory_info().rss
        self.running = True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.05)

    def stop(self) -> int:
        self.running = False
        self.join()
        return self.peak - self.baseline


def test_one_gib_upload_and_download_keep_memory_flat(live_server):
    repo = unique("large")
    auth = ("ci", live_server.token)
    seed = hashlib.sha256(b"wharf").digest() * (PIECE // 32)  # 1 MiB, varied by a counter below
    hasher = hashlib.sha256()

    def body():
        for i in range(SIZE // PIECE):
            piece = i.to_bytes(8, "big") + seed[8:]
            hasher.update(piece)
            yield piece

    with httpx.Client(base_url=live_server.url, auth=auth, timeout=120) as client:
        r = client.post(f"/v2/{repo}/blobs/uploads/")
        location = r.headers["location"]
        monitor = PeakRss(live_server.process.pid)
        monitor.start()
        started = time.monotonic()
        r = client.patch(location, content=body(), headers={"Content-Type": "application/octet-stream"})
        assert r.status_code == 202, r.text
        digest = f"sha256:{hasher.hexdigest()}"
        r = client.put(location, params={"digest": digest})
        upload_seconds = time.monotonic() - started
        upload_growth = monitor.stop()
        assert r.status_code == 201, r.text
        r = client.head(f"/v2/{repo}/blobs/{digest}")
        assert r.headers["content-length"] == str(SIZE)

        monitor = PeakRss(live_server.process.pid)
        monitor.start()
        started = time.monotonic()
        check = hashlib.sha256()
        with client.stream("GET", f"/v2/{repo}/blobs/{digest}") as response:
            for chunk in response.iter_bytes(PIECE):
                check.update(chunk)
        download_seconds = time.monotonic() - started
        download_growth = monitor.stop()
    assert f"sha256:{check.hexdigest()}" == digest
    print(
        f"\n1 GiB upload: {SIZE / upload_seconds / 2**20:.0f} MiB/s, server RSS growth {upload_growth / 2**20:.1f} MiB;"
        f" download: {SIZE / download_seconds / 2**20:.0f} MiB/s, growth {download_growth / 2**20:.1f} MiB"
    )
    assert upload_growth < LIMIT, f"upload grew server memory by {upload_growth / 2**20:.0f} MiB"
    assert download_growth < LIMIT, f"download grew server memory by {download_growth / 2**20:.0f} MiB"
