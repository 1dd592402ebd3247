"""The API docs page (/api/schema): Swagger UI served from Wharf's own static files, so it works offline
and loads no third-party script; started by a script file too, so the page's CSP needs no inline script."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.openapi.plugins import SwaggerRenderPlugin

ASSETS = "/static/swagger-ui"  # swagger-ui-dist, vendored: version and sha256 in templates/static/README.md


class LocalSwaggerUI(SwaggerRenderPlugin):
    def __init__(self) -> None:
        super().__init__(
            js_url=f"{ASSETS}/swagger-ui-bundle.js",
            css_url=f"{ASSETS}/swagger-ui.css",
            standalone_preset_js_url=f"{ASSETS}/swagger-ui-standalone-preset.js",
            favicon="",
            style="",
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        schema_url = f"{request.app.openapi_config.path if request.app.openapi_config else ''}/openapi.json"
        title = str(openapi_schema["info"]["title"]).replace("<", "&lt;")
        return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  <link rel="stylesheet" href="{self.css_url}">
  <script src="{self.js_url}" defer></script>
  <script src="{self.standalone_preset_js_url}" defer></script>
  <script src="/static/swagger-init.js" defer></script>
</head>
<body>
  <div id="swagger-container" data-url="{schema_url}"></div>
</body>
</html>
""".encode()
