"""Settings: one class, read from the environment (RADFLOW_*), injected everywhere else."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting radflow reads; defaults run a demo center on SQLite under ./var."""

    model_config = SettingsConfigDict(env_prefix="RADFLOW_", extra="ignore")

    data_dir: Path = Path("./var")
    database_url: str = ""
    # PostgreSQL schema to work in (tests run each in a schema of their own); empty = the default path.
    database_schema: str = ""
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    mllp_host: str = "127.0.0.1"
    mllp_port: int = 2575
    dicom_host: str = "127.0.0.1"
    dicom_port: int = 11112
    dicom_aet: str = "RADFLOW"
    timezone: str = "America/New_York"
    # Root for Study Instance UIDs; "2.25" means UUID-derived UIDs (PS3.5 B.2).
    uid_root: str = "2.25"
    # Key of the audit chain's HMAC: never stored in the database. The demo generates one
    # into the data directory; a real center sets it from its secret store.
    audit_key: str = ""
    audit_anchor: Path | None = None
    session_idle_minutes: int = 30
    secure_cookies: bool = False
    # Track targets: wall-clock hours from `received` to exam start.
    target_hours_stat: float = 4
    target_hours_urgent: float = 72
    target_hours_routine: float = 240
    # How long an approved authorization stays valid when the payer gives no end date.
    authorization_default_validity_days: int = 60
    fax_inbox: Path | None = None
    worker_poll_seconds: float = 1.0
    worker_lease_seconds: int = 120
    # Test-only: a file holding an ISO instant that the clock reads (see adapters.clock.FileClock).
    clock_file: Path | None = None
    center_name: str = "Riverside Imaging Center"
    center_phone: str = "+1 555 010 2000"
    center_address: str = "100 Riverside Drive, Springfield"
    enable_http: bool = True
    enable_mllp: bool = True
    enable_dicom: bool = True

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)  # raises for an unknown zone name
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The center's timezone, for display, opening hours and quiet hours."""
        return ZoneInfo(self.timezone)

    @property
    def effective_database_url(self) -> str:
        """The database URL: RADFLOW_DATABASE_URL, else a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'radflow.sqlite3').resolve()}"

    @property
    def audit_anchor_path(self) -> Path:
        """Where the audit chain's head is anchored outside the database."""
        return self.audit_anchor or (self.data_dir / "audit-anchor.json")

def track_targets_hours(settings: Settings) -> dict[str, float]:
    """Targets per routing track, in hours."""
    return {
        "stat": settings.target_hours_stat,
        "urgent": settings.target_hours_urgent,
        "routine": settings.target_hours_routine,
    }
