"""`wharf serve` sends blobs on disk with sendfile(2) (ASGI zerocopysend, app/http_protocol.py): the bytes,
Range and keep-alive are as before, and each download event records the bytes the kernel accepted for the
socket, also when the client leaves half-way."""

from __future__ import annotations

import os
import socket
import sqlite3
import time

import httpx
import pytest

from tests.support.oci import sha256
from tests.support.server import start_server

BLOB = os.urandom(6 * 1024 * 1024 + 123)  # bigger than a socket buffer: several sendfile calls


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("zero-copy")
    live = start_server(
        data_dir, f"sqlite+aiosqlite:///{data_dir / 'wharf.db'}", extra_env={"WHARF_AUDIT_FLUSH_SECONDS": "0.1"}
    )
    with httpx.Client(base_url=live.url, auth=("ci", live.token)) as client:
        r = client.post("/v2/acme/files/blobs/uploads/", params={"digest": sha256(BLOB)}, content=BLOB)
        assert r.status_code == 201, r.text
    yield live
    live.stop()


def blob_events(server, agent: str) -> list[tuple[int, int]]:
    """(status, bytes) of the blob.get events with this User-Agent, once the writer has stored them."""
    db = server.env["WHARF_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
    deadline = time.monotonic() + 30
    while True:
        with sqlite3.connect(db) as conn:
            rows = conn.execute(
                "SELECT status, bytes FROM download_events WHERE action = 'blob.get' AND user_agent = ?", (agent,)
            ).fetchall()
        if rows or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def test_whole_blobs_and_ranges_are_exact_and_recorded(server):
    url = f"/v2/acme/files/blobs/{sha256(BLOB)}"
    with httpx.Client(base_url=server.url, auth=("ci", server.token), timeout=30) as client:
        whole = client.get(url, headers={"User-Agent": "zc-whole"})
        part = client.get(url, headers={"User-Agent": "zc-range", "Range": "bytes=1000-2000999"})
        tail = client.get(url, headers={"User-Agent": "zc-suffix", "Range": "bytes=-77"})
        again = client.get(url, headers={"User-Agent": "zc-again"})  # same keep-alive connection
    assert whole.status_code == 200 and whole.content == BLOB
    assert whole.headers["content-length"] == str(len(BLOB))
    assert part.status_code == 206 and part.content == BLOB[1000:2001000]
    assert part.headers["content-range"] == f"bytes 1000-2000999/{len(BLOB)}"
    assert tail.status_code == 206 and tail.content == BLOB[-77:]
    assert again.content == BLOB
    assert blob_events(server, "zc-whole") == [(200, len(BLOB))]
    assert blob_events(server, "zc-range") == [(206, 2_000_000)]
    assert blob_events(server, "zc-suffix") == [(206, 77)]


def test_a_client_leaving_mid_blob_is_recorded_with_the_bytes_the_kernel_took(server):
    host, port = server.host.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        auth = httpx.BasicAuth("ci", server.token)._auth_header
        sock.sendall(
            f"GET /v2/acme/files/blobs/{sha256(BLOB)} HTTP/1.1\r\nHost: wharf\r\nUser-Agent: zc-leaver\r\n"
            f"Authorization: {auth}\r\n\r\n".encode()
        )
        received = b""
        while len(received) < 100_000:
            received += sock.recv(65536)
        # Leave with unread data: the kernel resets the connection, the server's next sendfile fails.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    [(status, sent)] = blob_events(server, "zc-leaver")
    assert status == 200
    assert 100_000 - 1000 < sent < len(BLOB)  # what the kernel accepted: more than we read, less than the blob
    with httpx.Client(base_url=server.url, auth=("ci", server.token), timeout=30) as client:
        assert client.get("/v2/").status_code == 200  # the server is fine
