"""The portal's settings: where the installation is, where accounts live, how uploads are
capped and how the intake run is triggered.

Read from the environment (``ISLANDBRIDGE_PORTAL_*``) by :meth:`PortalSettings.from_env`
or given by ``islandbridge portal`` options. Secrets are named, never written: the
accounts database URL comes from an environment variable (it may hold a password), the
Airflow API token from the variable ``airflow_token_env`` names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

__all__ = ["TRIGGERS", "PortalSettings"]

#: how an accepted upload starts its intake run (see :mod:`islandbridge.portal.triggers`)
TRIGGERS = ("flag", "airflow_rest", "asset_event", "none")
Trigger = Literal["flag", "airflow_rest", "asset_event", "none"]


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class PortalSettings:
    """Everything the portal needs to know; immutable once the app is built."""

    data_dir: Path
    config: Path | None = None
    #: SQLAlchemy URL of the accounts database (default: SQLite under the data folder)
    database_url: str | None = None
    max_upload_bytes: int = 64 << 20
    max_manifest_bytes: int = 64 << 10
    #: cookies only over HTTPS (off only for a plain-HTTP development server)
    cookie_secure: bool = True
    session_hours: float = 8.0
    idle_minutes: float = 60.0
    #: consecutive wrong passwords that lock an account, and for how long
    lockout_attempts: int = 5
    lockout_minutes: float = 15.0
    #: login attempts from one client address per window, whatever the account
    ip_attempts: int = 30
    ip_window_minutes: float = 10.0
    min_password_chars: int = 12
    #: trusted reverse-proxy single sign-on: the header holding the user name, and the
    #: proxy addresses it is believed from (from anyone else it is ignored)
    sso_header: str | None = None
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    sso_only: bool = False
    trigger: Trigger = "flag"
    airflow_url: str = "http://127.0.0.1:8080"
    airflow_token_env: str = "ISLANDBRIDGE_AIRFLOW_TOKEN"
    dag_id: str = "department_intake"
    default_language: Literal["zh", "en"] = "zh"
    #: argon2 parameters (``PasswordHasher`` keywords); empty: the library's recommended
    #: ones. Only the fast tests lower them.
    argon2: dict[str, int] = field(default_factory=dict)

    @property
    def portal_dir(self) -> Path:
        """The portal's own owner-only folder in the data folder (uploads, default DB)."""
        return self.data_dir / "portal"

    @property
    def accounts_url(self) -> str:
        return self.database_url or f"sqlite:///{self.portal_dir / 'portal.sqlite'}"

    def with_(self, **changes: object) -> PortalSettings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, data_dir: Path | None = None, config: Path | None = None) -> PortalSettings:
        """Settings from ``ISLANDBRIDGE_PORTAL_*`` (and the installation's own variables)."""
        env = os.environ
        trigger = env.get("ISLANDBRIDGE_PORTAL_TRIGGER", "flag")
        if trigger not in TRIGGERS:
            raise ValueError(f"ISLANDBRIDGE_PORTAL_TRIGGER={trigger!r}; known: {list(TRIGGERS)}")
        config_env = env.get("ISLANDBRIDGE_CONFIG")
        proxies = env.get("ISLANDBRIDGE_PORTAL_TRUSTED_PROXIES")
        return cls(
            data_dir=(data_dir or Path(env.get("ISLANDBRIDGE_DATA_DIR") or "data")).resolve(),
            config=config or (Path(config_env).resolve() if config_env else None),
            database_url=env.get("ISLANDBRIDGE_PORTAL_DB_URL") or None,
            max_upload_bytes=int(env.get("ISLANDBRIDGE_PORTAL_MAX_UPLOAD_MB", "64")) << 20,
            cookie_secure=not _flag("ISLANDBRIDGE_PORTAL_INSECURE_COOKIES", False),
            sso_header=env.get("ISLANDBRIDGE_PORTAL_SSO_HEADER") or None,
            trusted_proxies=tuple(p.strip() for p in proxies.split(",") if p.strip())
            if proxies
            else ("127.0.0.1", "::1"),
            sso_only=_flag("ISLANDBRIDGE_PORTAL_SSO_ONLY", False),
            trigger=trigger,  # type: ignore[arg-type]
            airflow_url=env.get("ISLANDBRIDGE_PORTAL_AIRFLOW_URL", "http://127.0.0.1:8080"),
            default_language="en" if env.get("ISLANDBRIDGE_PORTAL_LANGUAGE") == "en" else "zh",
        )
