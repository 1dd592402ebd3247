"""A real SMTP server (aiosmtpd) that keeps what it receives, for tests that follow links from mail."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.server import free_port


@dataclass
class Received:
    to: list[str]
    subject: str
    body: str  # the text/plain part
    html: str | None = None  # the text/html alternative, if any
    sender: str = ""
    attachments: dict[str, bytes] = field(default_factory=dict)  # by file name
    message_id: str = ""

    def link(self, path_prefix: str) -> str:
        """The first URL in the body whose path starts with `path_prefix`."""
        found = re.search(r"https?://[^\s/]+(" + re.escape(path_prefix) + r"\S+)", self.body)
        assert found, f"no link to {path_prefix} in:\n{self.body}"
        return found.group(1)


@dataclass
class SmtpSink:
    port: int
    messages: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        parsed: Message = message_from_bytes(envelope.content)
        parts = {
            part.get_content_type(): part.get_payload(decode=True)
            for part in parsed.walk()
            if part.get_filename() is None
        }
        attachments = {str(p.get_filename()): p.get_payload(decode=True) for p in parsed.walk() if p.get_filename()}
        body, html = parts.get("text/plain") or b"", parts.get("text/html")
        assert isinstance(body, bytes)
        received = Received(
            list(envelope.rcpt_tos),
            str(parsed["Subject"]),
            body.decode(),
            html.decode() if isinstance(html, bytes) else None,
            str(parsed["From"]),
            {name: content for name, content in attachments.items() if isinstance(content, bytes)},
            str(parsed["Message-ID"] or ""),
        )
        with self._lock:
            self.messages.append(received)
        return "250 Message accepted for delivery"

    def wait_for(self, to: str, subject_contains: str = "", timeout: float = 10) -> Received:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for message in reversed(self.messages):
                    if to in message.to and subject_contains in message.subject:
                        return message
            time.sleep(0.05)
        raise AssertionError(f"no mail to {to} ({subject_contains!r}) arrived within {timeout} s")

    def count(self, to: str) -> int:
        with self._lock:
            return sum(to in m.to for m in self.messages)

    def to(self, address: str) -> list[Received]:
        """Every message to `address`, in the order received."""
        with self._lock:
            return [m for m in self.messages if address in m.to]


def start_sink() -> tuple[SmtpSink, Controller]:
    sink = SmtpSink(free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    return sink, controller
