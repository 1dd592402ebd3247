"""The networks-and-limits fields of the vendor's forms: a pull token's, a license's limits and its
defaults for new tokens. Each set of fields has a prefix, so one form can hold two."""

from __future__ import annotations

from dataclasses import dataclass

from app.limits import Limits, Restrictions
from app.sizes import exact_size, parse_size

FIELDS = ("networks", "pulls_per_day", "pulls_per_month", "bytes_per_month")


@dataclass
class LimitsFields:
    """As typed: networks one per line (or comma-separated), limits as whole numbers, bytes as `10 GB`."""

    prefix: str
    networks: str = ""
    pulls_per_day: str = ""
    pulls_per_month: str = ""
    bytes_per_month: str = ""

    @classmethod
    def from_data(cls, data: dict[str, str], prefix: str) -> LimitsFields:
        return cls(prefix, *((data.get(prefix + name) or "").strip() for name in FIELDS))

    @classmethod
    def of(cls, restrictions: Restrictions, prefix: str) -> LimitsFields:
        limits = restrictions.limits
        return cls(
            prefix,
            "\n".join(restrictions.allowed_cidrs),
            "" if limits.pulls_per_day is None else str(limits.pulls_per_day),
            "" if limits.pulls_per_month is None else str(limits.pulls_per_month),
            "" if limits.bytes_per_month is None else exact_size(limits.bytes_per_month),
        )

    def parse(self, errors: dict[str, str]) -> Restrictions:
        """What the service takes; unreadable numbers are marked in `errors` by form field (the service
        checks the rest)."""

        def number(name: str, text: str, read: type[int] | None = None) -> int | None:
            if not text:
                return None
            try:
                return parse_size(text) if read is None else int(text.replace(",", ""))
            except ValueError:
                errors[self.prefix + name] = (
                    "Enter a size like 10 GB or 500 MB." if read is None else "Enter a whole number."
                )
                return None

        limits = Limits(
            number("pulls_per_day", self.pulls_per_day, int),
            number("pulls_per_month", self.pulls_per_month, int),
            number("bytes_per_month", self.bytes_per_month),
        )
        networks = tuple(n.strip() for n in self.networks.replace(",", "\n").splitlines() if n.strip())
        return Restrictions(networks, limits)

    def field_of(self, service_field: str) -> str:
        """The form field a service error names: `limits.pulls_per_day` or `allowed_cidrs[2]`."""
        name = service_field.rsplit(".", 1)[-1]
        return self.prefix + ("networks" if name.startswith("allowed_cidrs") else name)
