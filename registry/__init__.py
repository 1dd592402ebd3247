"""The OCI registry engine; it never imports app, licensing or a portal."""
