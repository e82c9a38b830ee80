"""Settings, in one place: one pydantic-settings class per concern.

Library code receives settings as arguments or through the cached ``get_*`` functions below;
nothing else reads ``os.environ``.
"""

from __future__ import annotations

import logging
import os
import secrets
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent
SAMPLES_DIR = ROOT / "data" / "samples"

LOCAL_PG_PORT = 5439
LOCAL_DATABASE_URL = f"postgresql+psycopg://foncier@127.0.0.1:{LOCAL_PG_PORT}/foncier"


def _default_pg_data_dir() -> Path:
    # PostgreSQL refuses to run as root: root's cluster lives where the postgres user can reach it.
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/lib/foncier/pg15")
    return Path.home() / ".local" / "share" / "foncier" / "pg15"


class DatabaseSettings(BaseSettings):
    """Where the PostGIS lives; without DATABASE_URL, the local cluster the project manages."""

    model_config = SettingsConfigDict(env_prefix="FONCIER_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=LOCAL_DATABASE_URL, validation_alias=AliasChoices("DATABASE_URL")
    )
    # The server's own connection (FONCIER_API_DATABASE_URL), as the role `foncier db grant-api`
    # prepares: it reads everything and writes only sites, their parcels, the audit and the
    # sites' layer version. Unset: the server uses DATABASE_URL.
    api_database_url: str | None = None
    pg_data_dir: Path = Field(default_factory=_default_pg_data_dir)
    pg_port: int = LOCAL_PG_PORT
    pg_bin_dir: Path = Path("/usr/lib/postgresql/15/bin")
    statement_timeout_ms: int = 30_000
    pool_size: int = 8
    # How long an API request waits for a pool connection before a 503 (database unavailable):
    # short, so that a database outage is answered quickly rather than after a long stall.
    pool_timeout_s: float = 2.0

    @property
    def is_local(self) -> bool:
        """True when the URL points at the cluster that ``foncier db up`` manages."""
        return f"127.0.0.1:{self.pg_port}/" in self.database_url

    def for_api(self) -> DatabaseSettings:
        """These settings as the API server connects: its own URL when one is set."""
        if not self.api_database_url:
            return self
        return self.model_copy(
            update={"database_url": self.api_database_url, "api_database_url": None}
        )

    @property
    def psycopg_dsn(self) -> str:
        """The URL without SQLAlchemy's driver suffix, for psycopg and libpq tools."""
        return self.database_url.replace("postgresql+psycopg://", "postgresql://", 1)


class IngestSettings(BaseSettings):
    """Knobs of the ingest pipelines."""

    model_config = SettingsConfigDict(env_prefix="FONCIER_INGEST_", env_file=".env", extra="ignore")

    copy_chunk_rows: int = 50_000
    # Features per batch when a large file is read and loaded in batches (parcels). Smaller
    # batches start the pipeline sooner and end it with a shorter last COPY: 50k beat 100k at
    # 200k parcels (2.4 s vs 3.1-3.5 s) with 100 MB less peak memory.
    batch_rows: int = 50_000
    # The batches read but not yet handed to the loader weigh at most this much together
    # (estimated from their columns and coordinates): the reader waits beyond it, so a slow
    # server cannot make batches pile up (peak RSS of the 1M load varied 848-2,246 MB).
    queue_max_mb: int = 64
    # Shrink guard: a load may delete at most this share of the rows it replaces per scope
    # value (a commune of parcels, a kind of constraints, the layer otherwise), unless
    # --allow-shrink is given; scope values under shrink_min_rows rows are not guarded.
    shrink_max_share: float = 0.10
    shrink_min_rows: int = 20
    # How long a load waits for another load of the same tables (or any lock) before it
    # gives up with "another load of ... is running; retry when it ends".
    lock_wait_s: float = 600.0
    # The load session's statement_timeout (ms, 0: none); None keeps the server's or the
    # role's. A timeout is reported as such, naming this setting.
    statement_timeout_ms: int | None = None
    samples_dir: Path = SAMPLES_DIR


class ApiSettings(BaseSettings):
    """HTTP service settings.

    ``environment`` is ``local`` on a developer's machine; anything else (``production``,
    ``staging``) requires a key salt and a public URL, with no defaults.
    """

    model_config = SettingsConfigDict(env_prefix="FONCIER_API_", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    max_limit: int = 10_000
    default_limit: int = 100
    max_body_bytes: int = 1_000_000
    parcel_min_zoom: int = 13
    tile_max_features: int = 20_000
    environment: str = "local"
    # The secret API keys are hashed with. No default: outside local mode it must be set; in
    # local mode with the local cluster, one is generated once beside the cluster's data
    # (resolve_key_salt).
    key_salt: str | None = Field(default=None, repr=False)
    # Where users reach the service (https://foncier.example.org): links and TileJSON URLs are
    # built from it, never from the request's Host header. Unset in local mode: the address the
    # server listens on.
    public_url: str | None = Field(
        default=None, validation_alias=AliasChoices("FONCIER_PUBLIC_URL", "public_url")
    )
    # Origins allowed to call the API from a browser (CORS); empty: same origin only.
    cors_origins: list[str] = []
    # Hosts the map pages may load basemap tiles from (Content-Security-Policy img-src).
    tile_hosts: list[str] = ["https://data.geopf.fr", "https://tile.openstreetmap.org"]
    # Failed API-key authentications allowed per client IP and minute before 429s.
    auth_failures_per_minute: int = 10
    # Exports (the expensive route): running at once and started per minute, per client IP.
    exports_concurrent_per_ip: int = 2
    exports_per_minute_per_ip: int = 30
    # One JSON line per request on stderr (logger foncier.access).
    access_log: bool = True
    # Evidence PDFs of a site's checklist (POST /sites/{id}/evidence): the largest accepted.
    evidence_max_bytes: int = 5_000_000
    # A site's availability holds this long after its confirmation; past it: "à confirmer".
    site_validity_days: int = 183
    # The one-click links of `foncier sites remind` expire after this many days.
    confirmation_link_days: int = 14
    # The secret those links are signed with (HMAC-SHA256). Unset: derived from key_salt.
    link_secret: str | None = Field(default=None, repr=False)

    @model_validator(mode="after")
    def _no_default_secret_outside_local(self) -> ApiSettings:
        if self.key_salt in ("", "change-me"):
            raise ValueError("FONCIER_API_KEY_SALT must be a secret value, not empty or change-me")
        if self.environment != "local":
            missing = [
                name
                for name, value in (
                    ("FONCIER_API_KEY_SALT", self.key_salt),
                    ("FONCIER_PUBLIC_URL", self.public_url),
                )
                if not value
            ]
            if missing:
                raise ValueError(
                    f"{' and '.join(missing)} must be set when FONCIER_API_ENVIRONMENT is "
                    f"{self.environment!r} (only local development has defaults)"
                )
        if self.public_url:
            parts = urlsplit(self.public_url)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/"):
                raise ValueError(
                    f"FONCIER_PUBLIC_URL={self.public_url!r}: expected http(s)://host[:port], "
                    "without a path"
                )
        return self


class MailSettings(BaseSettings):
    """The SMTP server `foncier sites remind` sends its e-mails through."""

    model_config = SettingsConfigDict(env_prefix="FONCIER_SMTP_", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 25
    sender: str = "foncier <ne-pas-repondre@foncier.localhost>"
    user: str | None = None
    password: str | None = Field(default=None, repr=False)
    starttls: bool = False
    timeout_s: float = 30.0


def resolve_key_salt(api: ApiSettings, db: DatabaseSettings) -> ApiSettings:
    """``api`` with its key salt: the configured one, or in local mode with the local cluster the
    one stored beside the cluster's data directory (generated on first use, mode 600).

    Raises:
        ValueError: no salt is configured and this is not local mode with the local cluster.
    """
    if api.key_salt:
        return api
    if api.environment != "local" or not db.is_local:
        raise ValueError(
            "FONCIER_API_KEY_SALT is not set: set it to a long random secret (the same for "
            "every server and for `foncier apikey`); only local development against the local "
            "cluster generates one"
        )
    path = db.pg_data_dir.parent / "key_salt"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(32))
        log.warning("generated an API-key salt for local development in %s (mode 600)", path)
    salt = path.read_text(encoding="utf-8").strip()
    log.info("API-key salt read from %s", path)
    return api.model_copy(update={"key_salt": salt})


@lru_cache
def get_database_settings() -> DatabaseSettings:
    """The process-wide database settings (read once from the environment and .env)."""
    return DatabaseSettings()


@lru_cache
def get_ingest_settings() -> IngestSettings:
    """The process-wide ingest settings."""
    return IngestSettings()


@lru_cache
def get_api_settings() -> ApiSettings:
    """The process-wide API settings."""
    return ApiSettings()


@lru_cache
def get_mail_settings() -> MailSettings:
    """The process-wide SMTP settings."""
    return MailSettings()
