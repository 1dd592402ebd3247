"""docs/operations.md lists every setting the app reads, with its real default, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.settings_env import env_defaults, wharf_settings

ROOT = Path(__file__).resolve().parents[1]
ROW = re.compile(r"^\| `(WHARF_\w+)` \| ([^|]*) \|", re.MULTILINE)


def configuration_rows() -> dict[str, str]:
    text = (ROOT / "docs" / "operations.md").read_text()
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    return {name: default.strip() for name, default in ROW.findall(section)}


def test_the_table_names_exactly_the_settings_the_app_reads():
    documented = configuration_rows()
    known = wharf_settings()
    assert set(documented) == known, (
        f"missing: {sorted(known - set(documented))}; unknown: {sorted(set(documented) - known)}"
    )


def test_each_literal_default_is_the_one_in_the_code():
    documented = configuration_rows()
    for name, default in env_defaults().items():
        if default:  # empty: computed from other settings, described in words
            assert f"`{default}`" in documented[name], f"{name}: the code's default is {default!r}"


def test_readme_links_the_operations_guide_and_names_only_real_settings():
    readme = (ROOT / "README.md").read_text()
    assert "docs/operations.md" in readme
    assert set(re.findall(r"`(WHARF_\w+)`", readme)) <= wharf_settings()
