"""The /v2 HTTP layer: parse -> decide -> act -> respond, one catch-all route per method."""

from registry.http.common import API_VERSION, Registry, registry_error_response
from registry.http.routes import build_router

__all__ = ["API_VERSION", "Registry", "build_router", "registry_error_response"]
