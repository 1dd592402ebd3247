"""A live `wharf serve` mailing through a real SMTP sink, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.conftest import require_tool
from tests.support.server import LiveServer, start_server
from tests.support.smtp import SmtpSink, start_sink

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"


@pytest.fixture(scope="session")
def mail_sink() -> Iterator[SmtpSink]:
    sink, controller = start_sink()
    yield sink
    controller.stop()


@pytest.fixture(scope="session")
def portal_server(tmp_path_factory: pytest.TempPathFactory, mail_sink: SmtpSink) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("portal-live")
    mail = {"WHARF_SMTP_HOST": "127.0.0.1", "WHARF_SMTP_PORT": str(mail_sink.port), "WHARF_MAIL_FROM": "wharf@e2e.test"}
    server = start_server(data_dir, f"sqlite+aiosqlite:///{data_dir / 'wharf.db'}", extra_env=mail)
    yield server
    server.stop()


@pytest.fixture
def chromium() -> Iterator[Browser]:
    """Per test: Playwright's sync API runs its own event loop, which must be gone before async tests run."""
    require_tool("chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS
