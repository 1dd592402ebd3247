"""The `wharf` command as a user runs it, and the schema's migrations against the models."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic import command

from app.db import alembic_config, upgrade
from app.settings import Settings

WHARF = str(Path(sys.executable).parent / "wharf")


def run(*args: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [WHARF, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "WHARF_DATA_DIR": str(data_dir), **env},
    )


def test_bootstrap_prints_the_token_last_and_refuses_duplicates(tmp_path):
    result = run(
        "bootstrap", "--vendor", "acme", "--email", "ops@acme.test", "--password", "long-enough", data_dir=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("wharf_api_")
    assert (tmp_path / "wharf.db").exists()
    again = run(
        "bootstrap", "--vendor", "acme", "--email", "ops@acme.test", "--password", "long-enough", data_dir=tmp_path
    )
    assert again.returncode == 2 and "already exists" in again.stderr and again.stdout == ""


def test_bootstrap_validates_its_input(tmp_path):
    for args, message in (
        (["--vendor", "Bad Slug", "--email", "a@b.c", "--password", "long-enough"], "lowercase"),
        (["--vendor", "ok", "--email", "not-an-email", "--password", "long-enough"], "not an email"),
        (["--vendor", "ok", "--email", "a@b.c", "--password", "short"], "at least 8"),
    ):
        result = run("bootstrap", *args, data_dir=tmp_path)
        assert result.returncode == 2 and message in result.stderr, result.stderr


def test_db_upgrade_on_an_empty_data_dir(tmp_path):
    result = run("db", "upgrade", data_dir=tmp_path / "fresh")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "fresh" / "wharf.db").exists()


def test_migrations_match_the_models(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'check.db'}"
    upgrade(url)
    command.check(alembic_config(url))  # raises if autogenerate would emit anything


def test_settings_read_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("WHARF_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WHARF_PUBLIC_URL", "https://registry.example.com/")
    monkeypatch.setenv("WHARF_PORT", "6000")
    settings = Settings()
    assert settings.public_url == "https://registry.example.com"
    assert settings.service == "registry.example.com"
    assert settings.server.port == 6000
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path.resolve() / 'wharf.db'}"
    assert settings.storage_path == tmp_path / "storage"


def test_audit_prune_applies_the_retention(tmp_path):
    import sqlite3

    assert run("db", "upgrade", data_dir=tmp_path).returncode == 0
    with sqlite3.connect(tmp_path / "wharf.db") as conn:
        for event_id, age in (("old", 40), ("recent", 5)):
            conn.execute(
                "INSERT INTO download_events (id, at, action, repository, bytes, status) "
                "VALUES (?, datetime('now', ?), 'manifest.get', 'acme/app', 0, 200)",
                (event_id, f"-{age} days"),
            )
    rolled = run("audit", "rollup", data_dir=tmp_path)
    assert rolled.returncode == 0 and "rolled up 40 days" in rolled.stderr, rolled.stderr  # 40 days ago .. yesterday
    forever = run("audit", "prune", data_dir=tmp_path)
    assert forever.returncode == 0 and "nothing deleted" in forever.stderr
    pruned = run("audit", "prune", data_dir=tmp_path, WHARF_EVENT_RETENTION_DAYS="30")
    assert pruned.returncode == 0 and "deleted 1 " in pruned.stderr
    with sqlite3.connect(tmp_path / "wharf.db") as conn:
        assert [row[0] for row in conn.execute("SELECT id FROM download_events")] == ["recent"]
        # the daily usage rows of pruned days go too (they name client addresses)
        assert [row[0] for row in conn.execute("SELECT pulls FROM usage_daily")] == [1]


def test_a_bad_trusted_proxy_setting_is_explained():
    import pytest

    from app.main import trusted_proxies

    assert [str(n) for n in trusted_proxies("10.0.0.0/8, ::1")] == ["10.0.0.0/8", "::1/128"]
    assert trusted_proxies("") == ()
    with pytest.raises(ValueError, match="WHARF_TRUSTED_PROXIES"):
        trusted_proxies("10.0.0.0/8, proxy.local")
