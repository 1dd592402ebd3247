"""Logging, configured in one place: text for people or one JSON object per line, Wharf and uvicorn alike."""

from __future__ import annotations

import json
import logging
import logging.config
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from litestar.logging.config import LoggingConfig

FORMATS = ("text", "json")
LEVELS = ("debug", "info", "warning", "error", "critical")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    """time, level, logger, message, the exception if any, and whatever `extra=` fields the call gave."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def logging_config(log_format: str, level: str) -> dict[str, Any]:
    """A dictConfig: everything, uvicorn's loggers included, goes to stderr through one handler."""
    if log_format not in FORMATS:
        raise ValueError(f"WHARF_LOG_FORMAT must be one of {', '.join(FORMATS)}, not {log_format!r}")
    if level.lower() not in LEVELS:
        raise ValueError(f"WHARF_LOG_LEVEL must be one of {', '.join(LEVELS)}, not {level!r}")
    upper = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"text": {"format": TEXT_FORMAT}, "json": {"()": JsonFormatter}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": log_format}
        },
        "root": {"handlers": ["stderr"], "level": upper},
        "loggers": {
            name: {"handlers": [], "propagate": True, "level": upper}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }


def litestar_logging() -> LoggingConfig:
    """Litestar's own logger goes through the root handlers set above instead of replacing them."""
    return LoggingConfig(
        configure_root_logger=False, loggers={"litestar": {"handlers": [], "propagate": True, "level": "INFO"}}
    )


def unexpected_error_logger(expected: tuple[type[BaseException], ...]) -> Callable[..., Awaitable[None]]:
    """An `after_exception` hook: what becomes a 500 is logged with its traceback; client errors are not."""
    log = logging.getLogger("wharf")

    async def log_unexpected(exc: BaseException, scope: Any) -> None:
        if not isinstance(exc, expected):
            log.error("unhandled error on %s %s", scope.get("method"), scope.get("path"), exc_info=exc)

    return log_unexpected


def configure_logging(log_format: str, level: str) -> dict[str, Any]:
    config = logging_config(log_format, level)
    logging.config.dictConfig(config)
    return config
