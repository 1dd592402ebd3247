"""Settings, one dataclass per area; every field reads the environment variable named beside it."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


@dataclass(frozen=True)
class ServerSettings:
    host: str = field(default_factory=lambda: _env("WHARF_HOST", "127.0.0.1"))
    """WHARF_HOST: address to listen on."""
    port: int = field(default_factory=lambda: int(_env("WHARF_PORT", "5000")))
    """WHARF_PORT: port to listen on."""
    public_url: str = field(default_factory=lambda: _env("WHARF_PUBLIC_URL", ""))
    """WHARF_PUBLIC_URL: the URL clients use (token realm, links); defaults to http://host:port."""
    data_dir: Path = field(default_factory=lambda: Path(_env("WHARF_DATA_DIR", "wharf-data")))
    """WHARF_DATA_DIR: where the embedded database, filesystem blobs and the audit spool live."""
    node_name: str = field(default_factory=lambda: _env("WHARF_NODE_NAME", ""))
    """WHARF_NODE_NAME: this process's name for its own audit spool; default <hostname>-<port>."""
    workers: int = field(default_factory=lambda: int(_env("WHARF_WORKERS", "1")))
    """WHARF_WORKERS: server processes on the one port (`wharf serve --workers`); each has its own spool."""


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = field(default_factory=lambda: _env("WHARF_DATABASE_URL", ""))
    """WHARF_DATABASE_URL: SQLAlchemy URL; default sqlite+aiosqlite under the data dir."""
    auto_migrate: bool = field(default_factory=lambda: _env("WHARF_AUTO_MIGRATE", "true") == "true")
    """WHARF_AUTO_MIGRATE: run `wharf db upgrade` at start (true/false)."""


@dataclass(frozen=True)
class StorageSettings:
    backend: str = field(default_factory=lambda: _env("WHARF_STORAGE", "filesystem"))
    """WHARF_STORAGE: blob storage backend; `filesystem` or `s3`."""
    path: str = field(default_factory=lambda: _env("WHARF_STORAGE_PATH", ""))
    """WHARF_STORAGE_PATH: filesystem store root; default <data dir>/storage."""
    s3_bucket: str = field(default_factory=lambda: _env("WHARF_S3_BUCKET", ""))
    """WHARF_S3_BUCKET: bucket for blobs when WHARF_STORAGE=s3."""
    s3_prefix: str = field(default_factory=lambda: _env("WHARF_S3_PREFIX", ""))
    """WHARF_S3_PREFIX: key prefix inside the bucket (e.g. `wharf/`); default none."""
    s3_endpoint_url: str = field(default_factory=lambda: _env("WHARF_S3_ENDPOINT_URL", ""))
    """WHARF_S3_ENDPOINT_URL: S3-compatible endpoint (MinIO, rclone, Ceph…); empty for AWS."""
    s3_region: str = field(default_factory=lambda: _env("WHARF_S3_REGION", "us-east-1"))
    """WHARF_S3_REGION: bucket region."""
    s3_access_key_id: str = field(default_factory=lambda: _env("WHARF_S3_ACCESS_KEY_ID", ""))
    """WHARF_S3_ACCESS_KEY_ID: access key; empty to use the standard AWS credential chain."""
    s3_secret_access_key: str = field(default_factory=lambda: _env("WHARF_S3_SECRET_ACCESS_KEY", ""))
    """WHARF_S3_SECRET_ACCESS_KEY: secret key paired with WHARF_S3_ACCESS_KEY_ID."""
    s3_path_style: bool = field(default_factory=lambda: _env("WHARF_S3_PATH_STYLE", "false") == "true")
    """WHARF_S3_PATH_STYLE: address the bucket in the path (true for most S3-compatible servers)."""
    s3_blob_delivery: str = field(default_factory=lambda: _env("WHARF_S3_BLOB_DELIVERY", "redirect"))
    """WHARF_S3_BLOB_DELIVERY: `redirect` (307 to a presigned URL) or `stream` (bytes through Wharf)."""


@dataclass(frozen=True)
class RegistrySettings:
    token_ttl: int = field(default_factory=lambda: int(_env("WHARF_TOKEN_TTL", "300")))
    """WHARF_TOKEN_TTL: lifetime in seconds of registry bearer tokens."""
    trusted_proxies: str = field(default_factory=lambda: _env("WHARF_TRUSTED_PROXIES", ""))
    """WHARF_TRUSTED_PROXIES: comma-separated addresses or CIDRs whose X-Forwarded-For is believed."""
    credential_cache_seconds: float = field(default_factory=lambda: float(_env("WHARF_CREDENTIAL_CACHE_SECONDS", "2")))
    """WHARF_CREDENTIAL_CACHE_SECONDS: how long a verified token secret is trusted before re-checking."""
    rate_limit: str = field(default_factory=lambda: _env("WHARF_RATE_LIMIT", ""))
    """WHARF_RATE_LIMIT: requests per token and process, e.g. `50/s`, `600/m`; empty: no limit."""
    rate_limit_burst: int = field(default_factory=lambda: int(_env("WHARF_RATE_LIMIT_BURST", "0")))
    """WHARF_RATE_LIMIT_BURST: requests a token may send at once before the rate applies; 0: the rate's count."""
    quota_merge_seconds: float = field(default_factory=lambda: float(_env("WHARF_QUOTA_MERGE_SECONDS", "2")))
    """WHARF_QUOTA_MERGE_SECONDS: the longest a download counted on one node takes to count on every other."""


@dataclass(frozen=True)
class AuditSettings:
    event_retention_days: int = field(default_factory=lambda: int(_env("WHARF_EVENT_RETENTION_DAYS", "0")))
    """WHARF_EVENT_RETENTION_DAYS: keep raw download events this many days (0: forever); `wharf audit prune`."""
    flush_seconds: float = field(default_factory=lambda: float(_env("WHARF_AUDIT_FLUSH_SECONDS", "0.5")))
    """WHARF_AUDIT_FLUSH_SECONDS: how often spooled download events are stored in the database."""
    report_seconds: float = field(default_factory=lambda: float(_env("WHARF_REPORT_SECONDS", "60")))
    """WHARF_REPORT_SECONDS: how often each node looks for scheduled reports to queue and mail."""


@dataclass(frozen=True)
class ObservabilitySettings:
    log_format: str = field(default_factory=lambda: _env("WHARF_LOG_FORMAT", "text"))
    """WHARF_LOG_FORMAT: `text` for people, `json` for one JSON object per line (log collectors)."""
    log_level: str = field(default_factory=lambda: _env("WHARF_LOG_LEVEL", "info"))
    """WHARF_LOG_LEVEL: debug, info, warning or error; applies to Wharf and uvicorn."""
    metrics_token: str = field(default_factory=lambda: _env("WHARF_METRICS_TOKEN", ""))
    """WHARF_METRICS_TOKEN: when set, /metrics wants `Authorization: Bearer <token>`; default open."""


@dataclass(frozen=True)
class MailSettings:
    smtp_host: str = field(default_factory=lambda: _env("WHARF_SMTP_HOST", ""))
    """WHARF_SMTP_HOST: SMTP server for invitations and password resets; empty: nothing is sent (docs/security.md)."""
    smtp_port: int = field(default_factory=lambda: int(_env("WHARF_SMTP_PORT", "25")))
    """WHARF_SMTP_PORT: SMTP port (25, 587 for starttls, 465 for tls)."""
    smtp_tls: str = field(default_factory=lambda: _env("WHARF_SMTP_TLS", "none"))
    """WHARF_SMTP_TLS: `none`, `starttls` or `tls`."""
    smtp_username: str = field(default_factory=lambda: _env("WHARF_SMTP_USERNAME", ""))
    """WHARF_SMTP_USERNAME: SMTP login; empty: no authentication."""
    smtp_password: str = field(default_factory=lambda: _env("WHARF_SMTP_PASSWORD", ""))
    """WHARF_SMTP_PASSWORD: SMTP password paired with WHARF_SMTP_USERNAME."""
    mail_from: str = field(default_factory=lambda: _env("WHARF_MAIL_FROM", "wharf@localhost"))
    """WHARF_MAIL_FROM: the sender address of Wharf's mail."""


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    registry: RegistrySettings = field(default_factory=RegistrySettings)
    audit: AuditSettings = field(default_factory=AuditSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    observability: ObservabilitySettings = field(default_factory=ObservabilitySettings)

    @property
    def public_url(self) -> str:
        url = self.server.public_url or f"http://{self.server.host}:{self.server.port}"
        return url.rstrip("/")

    @property
    def service(self) -> str:
        """The token `service` / JWT audience: the registry's host[:port] as clients see it."""
        return urlsplit(self.public_url).netloc

    @property
    def spool_dir(self) -> Path:
        node = self.server.node_name or f"{socket.gethostname()}-{self.server.port}"
        return self.server.data_dir / "spool" / node

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite+aiosqlite:///{(self.server.data_dir / 'wharf.db').resolve()}"

    @property
    def storage_path(self) -> Path:
        return Path(self.storage.path) if self.storage.path else self.server.data_dir / "storage"
