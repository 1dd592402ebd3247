"""OCI distribution error codes and the exception that carries them to the HTTP layer."""

from __future__ import annotations

from typing import Any

# code -> (HTTP status, spec message)
ERROR_CODES: dict[str, tuple[int, str]] = {
    "BLOB_UNKNOWN": (404, "blob unknown to registry"),
    "BLOB_UPLOAD_INVALID": (400, "blob upload invalid"),
    "BLOB_UPLOAD_UNKNOWN": (404, "blob upload unknown to registry"),
    "DIGEST_INVALID": (400, "provided digest did not match uploaded content"),
    "MANIFEST_BLOB_UNKNOWN": (400, "manifest references a manifest or blob unknown to registry"),
    "MANIFEST_INVALID": (400, "manifest invalid"),
    "MANIFEST_UNKNOWN": (404, "manifest unknown to registry"),
    "NAME_INVALID": (400, "invalid repository name"),
    "NAME_UNKNOWN": (404, "repository name not known to registry"),
    "SIZE_INVALID": (400, "provided length did not match content length"),
    "UNAUTHORIZED": (401, "authentication required"),
    "DENIED": (403, "requested access to the resource is denied"),
    "UNSUPPORTED": (405, "the operation is unsupported"),
    "TOOMANYREQUESTS": (429, "too many requests"),
    "TAG_INVALID": (400, "invalid tag"),
    "RANGE_INVALID": (416, "invalid content range"),
    "MANIFEST_TOO_LARGE": (413, "manifest too large"),
    "PAGINATION_NUMBER_INVALID": (400, "invalid number of results requested"),
    "UNAVAILABLE": (503, "service unavailable"),  # as CNCF distribution answers when a backend is down
}

# What an unreachable database or a connection failure raises: the client should retry, not see a 500.
UNAVAILABLE_RETRY_SECONDS = "5"


class RegistryError(Exception):
    """An error answered to the client in the OCI JSON error form."""

    def __init__(
        self,
        code: str,
        message: str | None = None,
        detail: Any = None,
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        default_status, default_message = ERROR_CODES[code]
        self.code = code
        self.message = message or default_message
        self.detail = detail
        self.status = status or default_status
        self.headers = headers or {}
        super().__init__(f"{code}: {self.message}")

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail is not None:
            error["detail"] = self.detail
        return {"errors": [error]}


class ClientGone(RegistryError):
    """The client disconnected before its request body ended: nothing to answer, and no fault of ours."""

    def __init__(self) -> None:
        super().__init__("BLOB_UPLOAD_INVALID", "the client disconnected before the body ended")
