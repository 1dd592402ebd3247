"""Blob bytes from a local file through the server's zero-copy send (ASGI `http.response.zerocopysend`):
the kernel moves them from the page cache to the socket, and the file's position afterwards says exactly
how many bytes it accepted, which is what the download event records (also when the client leaves)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import IO, Any

from litestar import Request, Response
from litestar.response.base import ASGIResponse
from litestar.types import Receive, Scope, Send

ZERO_COPY_SEND = "http.response.zerocopysend"


def offers_zero_copy(request: Request[Any, Any, Any]) -> bool:
    return ZERO_COPY_SEND in (request.scope.get("extensions") or {})


def open_at(path: str, start: int) -> IO[bytes]:
    """The file, unbuffered (its position is the kernel's), positioned at `start`."""
    file = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by the response once sent
    os.lseek(file.fileno(), start, os.SEEK_SET)
    return file


class FileSend(Response[None]):
    """`count` bytes of `file` from its current position; `sent(n)` is called once, with the bytes sent."""

    def __init__(
        self, file: IO[bytes], count: int, sent: Callable[[int], None], *, status_code: int, headers: dict[str, str]
    ) -> None:
        super().__init__(content=None, status_code=status_code, headers=headers, media_type="application/octet-stream")
        self.file, self.count, self.sent = file, count, sent

    def to_asgi_response(
        self, app: Any, request: Request[Any, Any, Any], *, headers: dict[str, str] | None = None, **_: Any
    ) -> ASGIResponse:
        return _ASGIFileSend(
            self.file,
            self.count,
            self.sent,
            headers={**(headers or {}), **self.headers},
            media_type="application/octet-stream",
            status_code=self.status_code,
        )


class _ASGIFileSend(ASGIResponse):
    __slots__ = ("count", "file", "sent")

    def __init__(
        self, file: IO[bytes], count: int, sent: Callable[[int], None], *, headers: dict[str, str], **kwargs: Any
    ) -> None:
        super().__init__(content_length=count, headers=headers, **kwargs)
        self.file, self.count, self.sent = file, count, sent

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sent = 0
        try:
            await self.start_response(send=send)
            start = self.file.tell()
            try:
                message = {"type": ZERO_COPY_SEND, "file": self.file, "count": self.count, "more_body": False}
                await send(message)  # type: ignore[arg-type]
            finally:
                sent = self.file.tell() - start
        finally:
            self.file.close()
            self.sent(sent)
