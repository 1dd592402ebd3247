"""compose.yaml and the Dockerfile are wired to each other and to what the app reads (Docker cannot run here,
so their structure is checked instead)."""

from __future__ import annotations

import fnmatch
import re
import shlex
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from tests.support.settings_env import wharf_settings

ROOT = Path(__file__).resolve().parents[1]
_DEFAULTED = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")


def interpolate(value: object) -> str:
    """Compose's `${VAR:-default}` with the default taken, as on a machine without a .env file."""
    return _DEFAULTED.sub(lambda m: m.group(2) or "", str(value))


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


@pytest.fixture(scope="module")
def wharf_env(compose) -> dict[str, str]:
    return {key: interpolate(value) for key, value in compose["services"]["wharf"]["environment"].items()}


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """Instructions (NAME, arguments) per build stage; continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    stages: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, args = line.partition(" ")
        if name.upper() == "FROM":
            stages.append([])
        assert stages, "the Dockerfile must start with FROM"
        stages[-1].append((name.upper(), args.strip()))
    return stages


def final_stage() -> dict[str, list[str]]:
    instructions: dict[str, list[str]] = {}
    for name, args in dockerfile_stages()[-1]:
        instructions.setdefault(name, []).append(args)
    return instructions


def dockerfile_env() -> dict[str, str]:
    return dict(pair.split("=", 1) for args in final_stage().get("ENV", []) for pair in shlex.split(args))


def test_every_dependency_names_a_service_and_waits_for_its_health(compose):
    services = compose["services"]
    for name, service in services.items():
        for dependency, rule in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on unknown service {dependency!r}"
            assert rule["condition"] in ("service_healthy", "service_completed_successfully"), (name, dependency)
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck to wait for"
    wharf = services["wharf"]["depends_on"]
    assert {"postgres", "minio"} <= set(wharf)
    assert any(services[d].get("image", "").startswith("minio/mc") for d in wharf), "no one-shot bucket creation"


def test_every_wharf_variable_is_one_the_app_reads(compose):
    known = wharf_settings()
    assert len(known) > 20
    for name, service in compose["services"].items():
        for variable in service.get("environment") or {}:
            if variable.startswith("WHARF_"):
                assert variable in known, f"{name}: {variable} is not a Wharf setting (typo?)"
    for variable in dockerfile_env():
        if variable.startswith("WHARF_"):
            assert variable in known, f"Dockerfile: {variable} is not a Wharf setting (typo?)"


def test_database_url_names_the_postgres_service_with_asyncpg(compose, wharf_env):
    url = urlsplit(wharf_env["WHARF_DATABASE_URL"])
    assert url.scheme == "postgresql+asyncpg" and url.hostname == "postgres"
    postgres = compose["services"]["postgres"]
    assert postgres["image"].startswith("postgres:16")
    assert url.username == postgres["environment"]["POSTGRES_USER"]
    assert url.password == interpolate(postgres["environment"]["POSTGRES_PASSWORD"])
    assert url.path.lstrip("/") == postgres["environment"]["POSTGRES_DB"]


def test_blob_storage_is_the_minio_service_and_its_bucket(compose, wharf_env):
    assert wharf_env["WHARF_STORAGE"] == "s3"
    endpoint = urlsplit(wharf_env["WHARF_S3_ENDPOINT_URL"])
    assert endpoint.hostname == "minio" and compose["services"]["minio"]["image"].startswith("minio/minio")
    assert wharf_env["WHARF_S3_PATH_STYLE"] == "true"
    # MinIO's address is internal to the compose network, so clients must not be redirected to it.
    assert wharf_env["WHARF_S3_BLOB_DELIVERY"] == "stream"
    minio_env = {k: interpolate(v) for k, v in compose["services"]["minio"]["environment"].items()}
    assert wharf_env["WHARF_S3_ACCESS_KEY_ID"] == minio_env["MINIO_ROOT_USER"]
    assert wharf_env["WHARF_S3_SECRET_ACCESS_KEY"] == minio_env["MINIO_ROOT_PASSWORD"]
    creator = compose["services"]["create-bucket"]
    command = " ".join(creator["command"])
    assert f"mc mb --ignore-existing local/{wharf_env['WHARF_S3_BUCKET']}" in command
    assert f"http://minio:{endpoint.port}" in command


def test_ports_healthcheck_and_migrations_agree(compose, wharf_env):
    wharf = compose["services"]["wharf"]
    port = wharf_env["WHARF_PORT"]
    assert [str(p).rsplit(":", 1)[-1] for p in wharf["ports"]] == [port]
    assert final_stage()["EXPOSE"] == [port] and dockerfile_env()["WHARF_PORT"] == port
    probe = " ".join(wharf["healthcheck"]["test"])
    assert f"http://127.0.0.1:{port}/readyz" in probe
    command = " ".join(wharf["command"])
    assert "wharf db upgrade && exec wharf serve" in command or wharf_env.get("WHARF_AUTO_MIGRATE") != "false"
    assert wharf["build"] == "." and (ROOT / "Dockerfile").is_file()
    assert any(v.endswith(":/var/lib/wharf") for v in wharf["volumes"])
    assert dockerfile_env()["WHARF_DATA_DIR"] == "/var/lib/wharf"
    for volume in [v.split(":")[0] for s in compose["services"].values() for v in s.get("volumes", [])]:
        assert volume in compose["volumes"], f"volume {volume} is not declared"


def test_image_runs_wharf_as_a_non_root_user_and_probes_readiness():
    stage = final_stage()
    assert stage["FROM"] == ["python:3.11-slim"]
    (user,) = stage["USER"]
    assert user.split(":")[0] not in ("root", "0")
    command = " ".join(stage.get("ENTRYPOINT", []) + stage.get("CMD", []))
    assert "wharf" in command and "serve" in command
    (healthcheck,) = stage["HEALTHCHECK"]
    assert "/readyz" in healthcheck and "WHARF_PORT" in healthcheck
    assert dockerfile_env()["WHARF_HOST"] == "0.0.0.0"
    runs = " ".join(stage.get("RUN", []))
    assert not re.search(r"\b(gcc|build-essential|apt-get install)\b", runs), "build tools in the runtime stage"


def test_image_holds_every_package_and_the_templates():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = project["tool"]["setuptools"]["packages"]
    mapped = project["tool"]["setuptools"]["package-dir"]
    shipped = {mapped.get(name, name).split(".")[0] for name in listed}
    copied: set[str] = set()
    ignored = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and line[0] != "#"]
    for stage in dockerfile_stages():
        for name, args in stage:
            if name == "COPY" and not args.startswith("--from"):
                *sources, _target = shlex.split(args)
                for source in sources:
                    assert (ROOT / source).exists(), f"COPY {source}: no such path"
                    assert not any(fnmatch.fnmatch(source, pattern) for pattern in ignored), f"{source} is ignored"
                    copied.add(source)
    assert shipped <= copied, f"packages missing from the image: {sorted(shipped - copied)}"
    assert "templates" in shipped  # installed with the package (app/templates), not copied beside it
    assert "site-packages" not in " ".join(args for n, args in dockerfile_stages()[-1] if n == "COPY")
