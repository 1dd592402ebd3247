"""A plain (not editable) install carries everything Wharf needs: every package, the templates and static
files as package data where app.main finds them, and every third-party module the code imports declared."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CODE = ("app", "registry", "licensing", "portal_vendor", "portal_customer")
# import name -> distribution, where they differ (or where a declared dependency brings the module)
PROVIDED_BY = {
    "jinja2_fragments": "jinja2-fragments",
    "prometheus_client": "prometheus-client",
    "sqlalchemy": "sqlalchemy",
    "boto3": "aioboto3",
    "botocore": "aioboto3",
    "markdown_it": "markdown-it-py",
}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from a copy of what the Dockerfile copies (a checkout's build/ folder could hide a missing file)."""
    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("wheel")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for name in (*CODE, "templates"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("wharf-*.whl")
    return built


def test_the_wheel_holds_every_package_template_and_static_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in CODE:
        for module in (ROOT / package).rglob("*.py"):
            assert str(module.relative_to(ROOT)) in names, module
    for file in (ROOT / "templates").rglob("*"):
        if file.is_file():
            assert f"app/templates/{file.relative_to(ROOT / 'templates')}" in names, file
    assert "app/templates/static/htmx.min.js" in names and "app/migrations/script.py.mako" in names


def test_an_unpacked_wheel_finds_its_templates_away_from_the_checkout(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    probe = "import app, app.main; print(app.__file__); print(app.main.TEMPLATES)"
    env = {**os.environ, "PYTHONPATH": str(site)}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    module, templates = result.stdout.split()
    assert module.startswith(str(site)), module
    assert Path(templates) == site / "app" / "templates" and (Path(templates) / "static" / "htmx.min.js").is_file()


def test_every_third_party_import_is_a_declared_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {
        dep.split("[")[0].split(">")[0].split("<")[0].split("=")[0].strip().lower() for dep in project["dependencies"]
    }
    imported: set[str] = set()
    for package in CODE:
        for module in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(module.read_text())):
                if isinstance(node, ast.Import):
                    imported |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - set(CODE)
    missing = {name for name in third_party if PROVIDED_BY.get(name, name).replace("_", "-") not in declared}
    assert not missing, f"imported but not declared in pyproject.toml: {sorted(missing)}"
