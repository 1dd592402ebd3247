"""The WHARF_* variables the app reads, taken from app/settings.py itself (its `_env` calls and the field
docstrings that name them), for the tests that keep deployment files and docs honest."""

from __future__ import annotations

import ast
from pathlib import Path

SETTINGS = Path(__file__).resolve().parents[2] / "app" / "settings.py"


def env_calls() -> set[str]:
    """Every name passed to `_env(...)` in app/settings.py."""
    tree = ast.parse(SETTINGS.read_text())
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "_env"
        and isinstance(node.args[0], ast.Constant)
    }


def env_defaults() -> dict[str, str]:
    """WHARF_NAME -> the default string given to `_env(...)` (empty when the default is computed)."""
    tree = ast.parse(SETTINGS.read_text())
    return {
        node.args[0].value: node.args[1].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "_env"
        and all(isinstance(arg, ast.Constant) for arg in node.args[:2])
    }


def documented() -> dict[str, str]:
    """WHARF_NAME -> its one-line description, from the docstring under each settings field."""
    found: dict[str, str] = {}
    for node in ast.walk(ast.parse(SETTINGS.read_text())):
        if not isinstance(node, ast.ClassDef):
            continue
        for stmt in node.body:
            if (
                isinstance(stmt, ast.Expr)
                and isinstance(stmt.value, ast.Constant)
                and isinstance(stmt.value.value, str)
            ):
                name, sep, text = stmt.value.value.partition(":")
                if sep and name.startswith("WHARF_"):
                    found[name] = text.strip()
    return found


def wharf_settings() -> set[str]:
    """The variables, after checking both sources agree (a field without a docstring, or a typo, fails)."""
    called, described = env_calls(), set(documented())
    assert called == described, f"_env() names and field docstrings differ: {sorted(called ^ described)}"
    return called
