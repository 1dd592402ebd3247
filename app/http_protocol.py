"""The HTTP protocol `wharf serve` runs: uvicorn's httptools protocol with a cap on a request's head, and
files sent with sendfile(2).

httptools sets no limit on the request line and headers, and keeps a header in memory until it ends, so
one client could send an endless header. This counts the bytes of each head as they arrive and answers
431 (closing the connection) once a head passes MAX_HEAD_BYTES. Bodies are not counted: blob uploads
stream on. Everything else is uvicorn's own code, the hot path included (one comparison per read).

uvicorn does not implement ASGI's zero-copy send extension (`http.response.zerocopysend`); this protocol
does, so a blob on disk goes from the page cache to the socket without passing through Python. With no
`offset` in the message the file's own position is used and advanced by exactly the bytes the kernel
accepted for the socket: the application reads them back from the file, also when the client left."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle

MAX_HEAD_BYTES = 64 * 1024  # request line plus headers; a registry bearer token needs a few KiB
log = logging.getLogger("uvicorn.error")
_REFUSAL = b"request line and headers exceed 65536 bytes\n"
ZERO_COPY_SEND = "http.response.zerocopysend"
SENDFILE_CHUNK = 8 * 1024 * 1024  # per sendfile(2) call; the socket's buffer usually takes less


class WharfHttpProtocol(HttpToolsProtocol):
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
        cycle = self.cycle
        if cycle is not None and cycle.scope is self.scope and type(cycle) is RequestResponseCycle:
            # The request's task exists but has not run yet: it will see the extension and our send().
            self.scope["extensions"] = {**self.scope.get("extensions", {}), ZERO_COPY_SEND: {}}
            cycle.__class__ = ZeroCopyCycle

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


class ZeroCopyCycle(RequestResponseCycle):
    """uvicorn's request/response cycle, plus `http.response.zerocopysend` for responses with a Content-Length."""

    async def send(self, message: Any) -> None:
        if message["type"] != ZERO_COPY_SEND:
            await super().send(message)
            return
        if self.disconnected:
            return
        if not self.response_started or self.response_complete or self.chunked_encoding:
            raise RuntimeError("zerocopysend needs a started response with a Content-Length")
        if self.scope["method"] == "HEAD":
            sent = 0
        else:
            try:
                sent = await send_file(
                    self.transport, self.flow, message["file"], message.get("offset"), message.get("count")
                )
            except OSError:  # the client went away: what it got is what the file position says
                self.disconnected = True
                self.transport.close()
                return
            if sent > self.expected_content_length:
                raise RuntimeError("Response content longer than Content-Length")
            self.expected_content_length -= sent
        await super().send({"type": "http.response.body", "body": b"", "more_body": message.get("more_body", False)})


async def send_file(
    transport: asyncio.Transport, flow: FlowControl, file: Any, offset: int | None, count: int | None
) -> int:
    """sendfile(2) from `file` (an object with fileno()) to the transport's socket; returns the bytes sent."""
    await _flushed(transport, flow)
    out = transport.get_extra_info("socket").fileno()
    source = file.fileno()
    # The event loop refuses to watch a descriptor its transport owns; a duplicate is the same socket.
    watched = os.dup(out)
    try:
        total = 0
        while count is None or total < count:
            size = SENDFILE_CHUNK if count is None else min(SENDFILE_CHUNK, count - total)
            try:
                sent = os.sendfile(out, source, None if offset is None else offset + total, size)
            except BlockingIOError:
                await _writable(watched)
                continue
            if sent == 0:  # end of file
                break
            total += sent
        return total
    finally:
        os.close(watched)


async def _flushed(transport: asyncio.Transport, flow: FlowControl) -> None:
    """Wait until the transport has written everything buffered (the head): sendfile writes after it."""
    if not transport.get_write_buffer_size():
        return
    transport.set_write_buffer_limits(high=0)  # pause_writing() now, resume_writing() once empty
    try:
        await flow.drain()
    finally:
        transport.set_write_buffer_limits()


async def _writable(fd: int) -> None:
    loop = asyncio.get_running_loop()
    ready = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_writer(fd, wake)
    try:
        await ready
    finally:
        loop.remove_writer(fd)
