"""The license form: reading grant rows from form fields, and previewing which existing tags each rule matches."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

import licensing
from app import catalog
from app.services.licenses import GrantInput
from portal_vendor.limits_form import LimitsFields

MAX_ROWS = 50
PREVIEW_TAGS = 12  # matching tags listed per rule and repository; the rest are counted


@dataclass
class LicenseForm:
    name: str = ""
    notes: str = ""
    valid_from: str = ""
    valid_until: str = ""
    grace_days: str = "0"
    rows: list[tuple[str, str]] = field(default_factory=list)  # (repository pattern, comma-separated tag rules)
    limits: LimitsFields = field(default_factory=lambda: LimitsFields("limit_"))  # shared by the license's pulls
    defaults: LimitsFields = field(default_factory=lambda: LimitsFields("default_"))  # for the customer's new tokens

    @classmethod
    def from_data(cls, data: dict[str, str]) -> LicenseForm:
        rows = []
        for i in range(MAX_ROWS):
            repository, tags = (data.get(f"repository_{i}") or "").strip(), (data.get(f"tags_{i}") or "").strip()
            if f"repository_{i}" not in data and f"tags_{i}" not in data:
                break
            rows.append((repository, tags))
        form = cls(
            (data.get("name") or "").strip(),
            data.get("notes") or "",
            (data.get("valid_from") or "").strip(),
            (data.get("valid_until") or "").strip(),
            (data.get("grace_days") or "0").strip(),
            rows,
            LimitsFields.from_data(data, "limit_"),
            LimitsFields.from_data(data, "default_"),
        )
        return form

    def grants(self) -> list[GrantInput]:
        """The filled rows as grants (rows with neither a repository nor rules are ignored)."""
        return [GrantInput(repo, split_rules(tags)) for repo, tags in self.rows if repo or tags]

    def with_blank_row(self) -> LicenseForm:
        self.rows = [*[r for r in self.rows if r[0] or r[1]], ("", "")][:MAX_ROWS]
        return self


def split_rules(text: str) -> list[str]:
    """Tag rules are separated by commas (a semver range may itself contain spaces)."""
    return [rule.strip() for rule in text.split(",") if rule.strip()]


def form_field(service_field: str, form: LicenseForm) -> str:
    """The form field a service error names: grants[2] is the third non-empty row."""
    if service_field == "grants":
        return "repository_0"
    if service_field.startswith("limits."):
        return form.limits.field_of(service_field)
    if service_field.startswith("token_defaults."):
        return form.defaults.field_of(service_field)
    if not service_field.startswith("grants["):
        return service_field
    index = int(service_field[len("grants[") :].split("]")[0])
    filled = [i for i, (repo, tags) in enumerate(form.rows) if repo or tags]
    row = filled[index] if index < len(filled) else 0
    return f"repository_{row}" if service_field.endswith(".repository") else f"tags_{row}"


@dataclass(frozen=True)
class RuleMatch:
    rule: str
    error: str | None
    matches: list[tuple[str, list[str], int]]  # (repository, first matching tags, how many in all)


@dataclass(frozen=True)
class RowPreview:
    index: int
    repository: str
    error: str | None
    repositories: int  # how many existing repositories the pattern matches
    rules: list[RuleMatch]


async def preview(session: AsyncSession, vendor_slug: str, form: LicenseForm, now: datetime) -> list[RowPreview]:
    """For each grant row: which existing repositories the pattern names, and which of their tags each rule matches."""
    known = await catalog.repositories(session, vendor_slug)
    result = []
    for index, (repository, tags_text) in enumerate(form.rows):
        if not tags_text and repository in ("", f"{vendor_slug}/"):  # an untouched row: nothing to preview yet
            continue
        try:
            pattern = licensing.parse_repository_pattern(repository)
        except licensing.InvalidRule as exc:
            result.append(RowPreview(index, repository, exc.message, 0, []))
            continue
        if not repository.startswith(vendor_slug + "/"):
            result.append(RowPreview(index, repository, f"repositories here start with '{vendor_slug}/'", 0, []))
            continue
        names = [r.name for r in known if pattern.matches(r.name)]
        ids = await catalog.ids_of(session, names)
        tags_by_id = await catalog.tag_names(session, list(ids.values()))
        rules = []
        for rule in split_rules(tags_text):
            try:
                grant = licensing.parse_grant(repository, [rule])
            except licensing.InvalidRule as exc:
                rules.append(RuleMatch(rule, exc.message, []))
                continue
            single = licensing.License(id="preview", customer_id="preview", name="preview", grants=(grant,))
            matches = []
            for name in names:
                allowed = licensing.allowed_tags([single], name, tags_by_id.get(ids.get(name, 0), []), now)
                if allowed:
                    matches.append((name, allowed[:PREVIEW_TAGS], len(allowed)))
            rules.append(RuleMatch(rule, None, matches))
        result.append(RowPreview(index, repository, None, len(names), rules))
    return result
