"""Errors raised when vendor input cannot become a rule or a license; messages are fit for a form."""

from __future__ import annotations


class InvalidRule(ValueError):
    """A tag rule or repository pattern that cannot be parsed; `message` says why in plain words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidLicense(ValueError):
    """License fields that contradict each other or the model (naive datetimes, negative grace...)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
