"""The service's settings, read from the environment once when the app is created (never at import time)."""

from __future__ import annotations

import hmac
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import phonenumbers

from stitching.errors import ConfigError

DEFAULT_DATABASE_URL = "sqlite:///build/stitching/stitching.db"
_DURATION = re.compile(r"^(\d+)(s|m|h|d)$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class ApiCredential:
    """The data actions' credential. ``repr`` never shows the secret."""

    user: str
    secret: str

    def __repr__(self) -> str:
        return f"ApiCredential(user={self.user!r}, secret=[secret])"


@dataclass(frozen=True)
class GenesysBackendSettings:
    region: str
    division_id: str | None
    client_id: str
    client_secret: str
    api_base: str | None = None  # tests point this at a fake; production derives it from the region
    # The CRM external source (stack output externalSourceId): CRM ids become ExternalId identifiers of it.
    external_source_id: str | None = None

    def __repr__(self) -> str:
        return f"GenesysBackendSettings(region={self.region!r}, division_id={self.division_id!r}, client_secret=[secret])"


@dataclass(frozen=True)
class ServiceSettings:
    credential: ApiCredential
    database_url: str = field(default=DEFAULT_DATABASE_URL, repr=False)  # may carry a password
    default_region: str = "US"
    context_window_s: int = 2 * 3600
    session_timeout_s: int = 30 * 60
    shadow_mode: bool = False
    shared_value_limit: int = 5
    max_body_bytes: int = 16 * 1024
    pool_size: int = 10
    busy_timeout_s: int = 2  # longest wait for the store (write lock, pooled connection, row lock) before a 503
    genesys: GenesysBackendSettings | None = None
    # The enrollment API's credential (the customer's own systems); None: enrollment is disabled.
    enrollment_token: str | None = field(default=None, repr=False)
    # Whether the identity provider verifies the email claim, so an authenticated web session's email may link.
    trust_email_claim: bool = False

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> ServiceSettings:
        env = os.environ if environ is None else environ
        reader = _Reader(env)
        settings = cls(
            credential=ApiCredential(reader.text("STITCHING_API_USER", "genesys"), reader.secret("STITCHING_API_TOKEN")),
            database_url=reader.text_or_file("STITCHING_DATABASE_URL", DEFAULT_DATABASE_URL),
            default_region=reader.region("STITCHING_DEFAULT_REGION", "US"),
            context_window_s=reader.duration("STITCHING_CONTEXT_WINDOW", "2h"),
            session_timeout_s=reader.duration("STITCHING_SESSION_TIMEOUT", "30m"),
            shadow_mode=reader.flag("STITCHING_SHADOW_MODE", False),
            shared_value_limit=reader.integer("STITCHING_SHARED_VALUE_LIMIT", 5, minimum=1),
            max_body_bytes=reader.integer("STITCHING_MAX_BODY_BYTES", 16 * 1024, minimum=1024),
            pool_size=reader.integer("STITCHING_DB_POOL_SIZE", 10, minimum=1),
            busy_timeout_s=reader.duration("STITCHING_DB_BUSY_TIMEOUT", "2s"),
            genesys=_genesys(reader),
            enrollment_token=reader.optional_secret("STITCHING_ENROLLMENT_TOKEN"),
            trust_email_claim=reader.flag("STITCHING_TRUST_EMAIL_CLAIM", False),
        )
        if settings.enrollment_token is not None and hmac.compare_digest(settings.enrollment_token,
                                                                         settings.credential.secret):
            raise ConfigError("STITCHING_ENROLLMENT_TOKEN: must differ from STITCHING_API_TOKEN (separate callers)")
        if not settings.database_url.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ConfigError("STITCHING_DATABASE_URL: expected sqlite:///<path> or postgresql://...")
        return settings


def _genesys(reader: _Reader) -> GenesysBackendSettings | None:
    region = reader.text("STITCHING_GENESYS_REGION", "")
    if not region:
        return None
    return GenesysBackendSettings(
        region=region,
        division_id=reader.text("STITCHING_GENESYS_DIVISION_ID", "") or None,
        client_id=reader.secret("GENESYSCLOUD_OAUTHCLIENT_ID"),
        client_secret=reader.secret("GENESYSCLOUD_OAUTHCLIENT_SECRET"),
        api_base=reader.text("STITCHING_GENESYS_API_BASE", "") or None,
        external_source_id=reader.text("STITCHING_GENESYS_EXTERNAL_SOURCE_ID", "") or None,
    )


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def text(self, key: str, default: str) -> str:
        return self.env.get(key, default).strip()

    def text_or_file(self, key: str, default: str) -> str:
        """An optional value that may carry a password: the variable, or the file named by ``<key>_FILE``."""
        if self.env.get(f"{key}_FILE", ""):
            return self.secret(key)
        return self.text(key, default)

    def secret(self, key: str) -> str:
        """A secret from the variable or from the file named by ``<key>_FILE`` (a mounted Kubernetes Secret)."""
        value = self.env.get(key, "")
        path = self.env.get(f"{key}_FILE", "")
        if path:
            try:
                value = Path(path).read_text().strip()
            except OSError as exc:
                raise ConfigError(f"{key}_FILE: cannot read {path}: {exc.strerror}") from None
        if not value:
            raise ConfigError(f"{key} (or {key}_FILE) is required")
        if key == "STITCHING_API_TOKEN" and len(value) < 16:
            raise ConfigError(f"{key}: must be at least 16 characters")
        return value

    def optional_secret(self, key: str) -> str | None:
        """Like ``secret``, but None when neither the variable nor its file is set."""
        if not self.env.get(key, "").strip() and not self.env.get(f"{key}_FILE", "").strip():
            return None
        value = self.secret(key)
        if len(value) < 16:
            raise ConfigError(f"{key}: must be at least 16 characters")
        return value

    def duration(self, key: str, default: str) -> int:
        raw = self.text(key, default)
        match = _DURATION.match(raw)
        if not match or int(match.group(1)) == 0:
            raise ConfigError(f"{key}: expected a positive duration such as 30m or 2h, got {raw!r}")
        return int(match.group(1)) * _SECONDS[match.group(2)]

    def integer(self, key: str, default: int, minimum: int) -> int:
        raw = self.text(key, str(default))
        if not raw.isdigit() or int(raw) < minimum:
            raise ConfigError(f"{key}: expected a whole number >= {minimum}, got {raw!r}")
        return int(raw)

    def flag(self, key: str, default: bool) -> bool:
        raw = self.text(key, "true" if default else "false").lower()
        if raw not in ("true", "false", "1", "0"):
            raise ConfigError(f"{key}: expected true or false, got {raw!r}")
        return raw in ("true", "1")

    def region(self, key: str, default: str) -> str:
        raw = self.text(key, default).upper()
        if raw not in phonenumbers.SUPPORTED_REGIONS:
            raise ConfigError(f"{key}: {raw!r} is not an ISO 3166 region phonenumbers knows (e.g. US, GB, DE)")
        return raw
