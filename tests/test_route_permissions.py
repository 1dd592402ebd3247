"""Every route declares who may call it: exactly one access Rule (app.guards) among its guards.

The README's table of routes and rules is generated from the same walk (`python -m tests.test_route_permissions`
prints it), and this test fails when the README disagrees with the code.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler

from app.guards import Rule
from app.main import create_app
from app.roles import VENDOR_ROLES, Permission
from app.settings import DatabaseSettings, ServerSettings, Settings

README = Path(__file__).resolve().parent.parent / "README.md"
ROUTES_START, ROUTES_END = "<!-- routes:start -->", "<!-- routes:end -->"
ROLES_START, ROLES_END = "<!-- roles:start -->", "<!-- roles:end -->"


def app_for_inspection(tmp_path: Path) -> Litestar:
    settings = Settings(
        server=ServerSettings(data_dir=tmp_path),
        database=DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'routes.db'}", auto_migrate=False),
    )
    return create_app(settings)


def rules_of(app: Litestar) -> dict[tuple[str, str], list[Rule]]:
    """(path, method) -> the Rules among the guards that apply to it (its own and its layers')."""
    found: dict[tuple[str, str], list[Rule]] = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if not isinstance(handler, HTTPRouteHandler):
                continue
            methods = sorted(m for m in handler.http_methods if m != "OPTIONS")
            if not methods:  # the OPTIONS answer Litestar adds to every path carries no data
                continue
            rules = [g for g in handler.resolve_guards() if isinstance(g, Rule)]
            for method in methods:
                found[(route.path, method)] = rules
    return found


def test_every_route_declares_exactly_one_rule(tmp_path):
    found = rules_of(app_for_inspection(tmp_path))
    assert len(found) > 80  # the walk really reaches the app's routes
    missing = [f"{method} {path}" for (path, method), rules in found.items() if not rules]
    doubled = [f"{method} {path}" for (path, method), rules in found.items() if len(rules) > 1]
    assert not missing, f"routes without an access rule: {missing}"
    assert not doubled, f"routes with more than one access rule: {doubled}"


def test_writes_are_never_public_by_accident(tmp_path):
    """A state-changing route that anyone may call must be one of the known sign-in and link flows."""
    allowed = re.compile(r"^/(signin|signout|password/|portal/invitations/|setup/|account/verify/|token|v2/)")
    for (path, method), rules in rules_of(app_for_inspection(tmp_path)).items():
        if method in ("GET", "HEAD") or rules[0].audience not in ("public", "registry"):
            continue
        assert allowed.match(path), f"{method} {path} is open to anyone"


def route_table(app: Litestar) -> str:
    rows = sorted((path, method, rules[0].describe()) for (path, method), rules in rules_of(app).items() if rules)
    lines = ["| route | method | who may call it |", "|---|---|---|"]
    lines += [f"| `{path}` | {method} | {rule} |" for path, method, rule in rows]
    return "\n".join(lines)


def role_table() -> str:
    perms = list(Permission)
    lines = ["| role | " + " | ".join(p.value for p in perms) + " |", "|---|" + "---|" * len(perms)]
    for role, granted in VENDOR_ROLES.items():
        lines.append(f"| {role} | " + " | ".join("✓" if p in granted else "" for p in perms) + " |")
    return "\n".join(lines)


def section(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0].strip()


def test_readme_tables_match_the_code(tmp_path):
    readme = README.read_text()
    assert section(readme, ROLES_START, ROLES_END) == role_table(), "regenerate: python -m tests.test_route_permissions"
    assert section(readme, ROUTES_START, ROUTES_END) == route_table(app_for_inspection(tmp_path)), (
        "regenerate: python -m tests.test_route_permissions"
    )


if __name__ == "__main__":  # rewrite the README's tables from the code
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        text = README.read_text()
        for (start, end), table in (
            ((ROLES_START, ROLES_END), role_table()),
            ((ROUTES_START, ROUTES_END), route_table(app_for_inspection(Path(tmp)))),
        ):
            before, rest = text.split(start, 1)
            text = f"{before}{start}\n{table}\n{end}{rest.split(end, 1)[1]}"
        README.write_text(text)
    sys.exit(0)
