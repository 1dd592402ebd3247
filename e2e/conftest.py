"""Browser journeys: a live `wharf serve` (mailing through a real SMTP sink), Debian's Chromium driven by
Playwright, screenshots for review, and skopeo against the same server."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.conftest import require_tool
from tests.support.oci import image, write_layout
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
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


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


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("e2e")
    live = start_server(data_dir, f"sqlite+aiosqlite:///{data_dir / 'wharf.db'}")
    yield live
    live.stop()


@pytest.fixture
def chromium() -> Iterator[Browser]:
    """Per test: Playwright's sync API runs its own event loop, which must be gone before async tests run."""
    require_tool("chromium")  # skips loudly (fails under CI) like every missing client
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir()
    return SCREENSHOTS


class Skopeo:
    """skopeo against the live server (plain HTTP)."""

    def __init__(self, host: str) -> None:
        self.binary = require_tool("skopeo")
        self.host = host

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.binary, "--insecure-policy", *args], capture_output=True, text=True, timeout=300, check=False
        )

    def push_tags(self, root: Path, repository: str, tags: list[str], creds: str) -> None:
        for tag in tags:
            img = image(f"{repository}-{tag}")
            layout = write_layout(root / tag, {tag: img.manifest}, img.blobs)
            done = self.run(
                "copy", "--dest-tls-verify=false", "--dest-creds", creds, f"oci:{layout}:{tag}",
                f"docker://{self.host}/{repository}:{tag}",
            )  # fmt: skip
            assert done.returncode == 0, done.stderr

    def pull(self, reference: str, creds: str, into: Path) -> subprocess.CompletedProcess[str]:
        return self.run(
            "copy", "--src-tls-verify=false", "--src-creds", creds, f"docker://{self.host}/{reference}",
            f"oci:{into}:pulled",
        )  # fmt: skip
