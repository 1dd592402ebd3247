"""`wharf serve` caps a request's head (request line and headers) at 64 KiB: 431 and the connection closed,
counted as the bytes arrive, so a client sending an endless header costs the server nothing."""

from __future__ import annotations

import socket
import time

import pytest

from app.http_protocol import MAX_HEAD_BYTES


def _connect(live_server) -> socket.socket:
    host, port = live_server.host.split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.settimeout(10)
    return sock


def _response(sock: socket.socket) -> bytes:
    data = b""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        data += chunk
    return data


@pytest.mark.parametrize("size", [MAX_HEAD_BYTES + 1, 32 * 1024 * 1024])
def test_a_head_past_the_limit_is_431_before_it_ends(live_server, size):
    with _connect(live_server) as sock:
        sock.sendall(b"GET /v2/ HTTP/1.1\r\nHost: wharf\r\nX-Big: ")
        sent = 0
        try:  # the server answers and closes once the limit is passed, long before 32 MB
            while sent < size:
                sock.sendall(b"a" * 65536)
                sent += 65536
            sock.sendall(b"\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = _response(sock)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    if size > 8 * 1024 * 1024:
        assert sent < size  # refused while the header was still arriving (socket buffers took the rest)


def test_a_head_within_the_limit_and_a_large_body_are_served(live_server):
    auth = f"Authorization: Basic {'x' * (MAX_HEAD_BYTES - 2048)}\r\n".encode()
    body = b"x" * (3 * MAX_HEAD_BYTES)
    with _connect(live_server) as sock:
        request = b"GET /v2/ HTTP/1.1\r\nHost: wharf\r\n" + auth + b"\r\n"
        upload = (
            b"POST /v2/acme/x/blobs/uploads/ HTTP/1.1\r\nHost: wharf\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        sock.sendall(request + upload)  # pipelined: the second head is counted on its own
        answer = _response(sock)
    assert answer.startswith(b"HTTP/1.1 401 "), answer[:200]
    assert answer.count(b"HTTP/1.1 401 ") == 2, answer[:400]
