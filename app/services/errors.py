"""What a service refuses with. Adapters translate: the API into 4xx JSON, the portals into messages."""

from __future__ import annotations


class ServiceError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ServiceError, LookupError):
    """No such object for this actor (another tenant's objects are never found either)."""


class Invalid(ServiceError, ValueError):
    """Bad input, with the offending field (or several): the API answers 400, the portals show each
    message by its field."""

    def __init__(self, field: str, message: str, others: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.fields = {field: message, **(others or {})}

    @classmethod
    def of(cls, errors: dict[str, str]) -> Invalid:
        (field, message), *rest = errors.items()
        return cls(field, message, dict(rest))


class Forbidden(ServiceError, PermissionError):
    """The actor may not do this (a role too low, a customer member managing others' tokens…)."""


class Conflict(ServiceError):
    """The request is well formed but clashes with what exists (a pending invitation, a taken address)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
