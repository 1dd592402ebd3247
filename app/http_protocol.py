"""The HTTP protocol `wharf serve` runs: uvicorn's httptools protocol with a cap on a request's head.

httptools sets no limit on the request line and headers, and keeps a header in memory until it ends, so
one client could send an endless header. This counts the bytes of each head as they arrive and answers
431 (closing the connection) once a head passes MAX_HEAD_BYTES. Bodies are not counted: blob uploads
stream on. Everything else is uvicorn's own code, the hot path included (one comparison per read)."""

from __future__ import annotations

import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

MAX_HEAD_BYTES = 64 * 1024  # request line plus headers; a registry bearer token needs a few KiB
log = logging.getLogger("uvicorn.error")
_REFUSAL = b"request line and headers exceed 65536 bytes\n"


class BoundedHeadProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True  # until the current request's headers are complete
        self._head_bytes = 0

    def data_received(self, data: bytes) -> None:
        if not self._in_head:
            super().data_received(data)
            return
        room = MAX_HEAD_BYTES - self._head_bytes
        if len(data) <= room:
            self._head_bytes += len(data)
            super().data_received(data)
            return
        super().data_received(data[:room])  # the head may end within what is left of the limit
        if self._in_head:
            self._refuse()
        elif not self.transport.is_closing():
            self.data_received(data[room:])

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_head, self._head_bytes = True, 0  # the next request on this connection starts its own count
        super().on_message_complete()

    def _refuse(self) -> None:
        if self.transport.is_closing():
            return
        log.warning("431: a request from %s had a head over %d bytes", self.client and self.client[0], MAX_HEAD_BYTES)
        head = [STATUS_LINE[431]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: text/plain; charset=utf-8\r\n",
            b"content-length: " + str(len(_REFUSAL)).encode() + b"\r\n",
            b"connection: close\r\n\r\n",
            _REFUSAL,
        ]
        self.transport.write(b"".join(head))
        self.transport.close()
        self._in_head = False  # whatever still arrives is dropped with the connection
