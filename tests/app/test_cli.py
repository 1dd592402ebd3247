"""The `wharf` command as a user runs it, and the schema's migrations against the models."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic import command

from app.db import alembic_config, upgrade
from app.settings import Settings
from tests.support.web import Browser

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


async def test_gc_reports_by_default_and_deletes_when_asked(wharf, database_url, tmp_path):
    import json

    from tests.registry.helpers import push_image
    from tests.support.oci import image

    repo, kept, dropped = wharf.repo(), image(f"kept-{tmp_path.name}"), image(f"dropped-{tmp_path.name}")
    await push_image(wharf, repo, kept, "1.0")
    await push_image(wharf, repo, dropped)
    env = {"WHARF_DATABASE_URL": database_url, "WHARF_STORAGE_PATH": str(wharf.app.state.registry.store.root)}

    def gc(*args: str) -> subprocess.CompletedProcess[str]:
        return run("gc", "--repository", repo, *args, data_dir=tmp_path, **env)

    fresh = gc()  # the default grace period (24h) spares what was just pushed
    assert fresh.returncode == 0, fresh.stderr
    assert "dry run" in fresh.stdout and "would remove 0 manifests" in fresh.stdout
    planned = gc("--grace", "0", "--verbose")
    assert "would remove 1 manifests" in planned.stdout and f"manifest {repo}@{dropped.digest}" in planned.stdout
    for digest in dropped.blobs:
        assert f"blob {digest}" in planned.stdout
    status = await wharf.client.get(f"/v2/{repo}/manifests/{dropped.digest}", headers=wharf.auth)
    assert status.status_code == 200  # a dry run deletes nothing

    done = gc("--grace", "0", "--delete", "--json", "--verbose")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["dry_run"] is False and document["grace_seconds"] == 0
    assert [m["digest"] for m in document["manifests"]["items"]] == [dropped.digest]
    assert document["blobs"]["count"] == 2 and document["blobs"]["bytes"] == sum(map(len, dropped.blobs.values()))
    assert await wharf.app.state.registry.metadata.drop_if_collected()  # what a serving process does every 2 s
    gone = await wharf.client.get(f"/v2/{repo}/manifests/{dropped.digest}", headers=wharf.auth)
    assert gone.status_code == 404
    assert (await wharf.client.get(f"/v2/{repo}/manifests/1.0", headers=wharf.auth)).status_code == 200
    again = json.loads(gc("--grace", "0", "--delete", "--json").stdout)
    assert again["manifests"] == {"count": 0, "bytes": 0} and again["blobs"] == {"count": 0, "bytes": 0}


def test_gc_explains_bad_input(tmp_path):
    assert run("db", "upgrade", data_dir=tmp_path).returncode == 0
    for args, message in (
        (["--grace", "5x"], "grace period '5x' is not a number followed by s, m, h or d"),
        (["--grace", "-1h"], "is not a number"),
        (["--repository", "acme/nowhere"], "repository 'acme/nowhere' does not exist"),
    ):
        result = run("gc", *args, data_dir=tmp_path)
        assert result.returncode == 2 and message in result.stderr, result.stderr
    empty = run("gc", "--delete", "--json", data_dir=tmp_path)
    assert empty.returncode == 0 and '"count": 0' in empty.stdout


def test_grace_periods_parse():
    from datetime import timedelta

    from app.gc_report import parse_grace

    assert parse_grace("24h") == timedelta(hours=24)
    assert parse_grace("30m") == timedelta(minutes=30)
    assert parse_grace("7d") == timedelta(days=7)
    assert parse_grace("90s") == timedelta(seconds=90)
    assert parse_grace("0") == timedelta(0)


async def test_user_reset_link_issues_a_working_single_use_link(tmp_path):
    from tests.app.test_mail import _app_without_smtp

    app, email = await _app_without_smtp(tmp_path)
    result = run("user", "reset-link", email.upper(), data_dir=tmp_path, WHARF_PUBLIC_URL="https://wharf.example")
    assert result.returncode == 0, result.stderr
    link = result.stdout.strip()
    assert link.startswith("https://wharf.example/password/reset/") and "60 minutes" in result.stderr
    path = link.removeprefix("https://wharf.example")
    async with Browser(app) as browser:
        assert (await browser.get(path)).status_code == 200
        r = await browser.post(path, {"password": "brand new pw", "password_again": "brand new pw"})
        assert r.status_code == 303
        assert (await browser.get(path)).status_code == 404  # spent
        assert (await browser.sign_in(email, "brand new pw")).status_code == 303
    await app.state.registry.metadata.engine.dispose()
    unknown = run("user", "reset-link", "nobody@acme.test", data_dir=tmp_path)
    assert unknown.returncode == 2 and "no account" in unknown.stderr and unknown.stdout == ""


def test_user_confirm_vouches_for_an_address_when_no_mail_can(tmp_path):
    from sqlalchemy import create_engine as sync_engine
    from sqlalchemy import text

    assert run("bootstrap", "--vendor", "acme", "--email", "a@acme.test", "--password", "pw long enough",
               data_dir=tmp_path).returncode == 0  # fmt: skip
    db = sync_engine(f"sqlite:///{tmp_path / 'wharf.db'}")
    with db.begin() as conn:
        conn.execute(text("UPDATE users SET email_verified_at = NULL"))
    result = run("user", "confirm", "A@acme.test", data_dir=tmp_path)
    assert result.returncode == 0 and "a@acme.test is confirmed" in result.stderr, result.stderr
    with db.connect() as conn:
        assert conn.execute(text("SELECT email_verified_at FROM users")).scalar() is not None
        assert conn.execute(text("SELECT count(*) FROM admin_audit WHERE action = 'user.verified'")).scalar() == 1
    db.dispose()
    unknown = run("user", "confirm", "nobody@acme.test", data_dir=tmp_path)
    assert unknown.returncode == 2 and "no account" in unknown.stderr
