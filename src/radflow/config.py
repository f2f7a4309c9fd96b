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
    # MLLP over TLS when a certificate and key are given; with a CA file, senders must present a
    # certificate it signed (the CA file also verifies partners radflow sends to over TLS).
    mllp_tls_cert: Path | None = None
    mllp_tls_key: Path | None = None
    mllp_tls_ca: Path | None = None
    mllp_idle_timeout_seconds: float = 300.0
    mllp_max_frame_bytes: int = 1_048_576
    # Threads applying messages; 0 sizes them to the database connection pool.
    mllp_workers: int = 0
    # Let several `radflow serve` processes on one machine share the MLLP port (SO_REUSEPORT).
    mllp_reuse_port: bool = False
    # Outbound HL7 (status, reports, application acks): connecting, then waiting for the ACK.
    hl7_connect_timeout_seconds: float = 10.0
    hl7_ack_timeout_seconds: float = 30.0
    dicom_host: str = "127.0.0.1"
    dicom_port: int = 11112
    dicom_aet: str = "RADFLOW"
    # DICOM SCP limits and rules (docs/dicom-conformance.md): associations served at once, connections
    # not yet associated, timeouts in seconds, largest PDU, and the calling AE titles allowed
    # (comma-separated; empty allows any).
    dicom_max_associations: int = 10
    dicom_max_pending_connections: int = 32
    dicom_acse_timeout_seconds: float = 10.0
    dicom_dimse_timeout_seconds: float = 30.0
    dicom_network_timeout_seconds: float = 60.0
    dicom_pdu_timeout_seconds: float = 10.0
    dicom_max_pdu_bytes: int = 1_048_576
    dicom_allowed_calling_aes: str = ""
    # A scanner that sends no Scheduled Station AE Title is matched by its calling AE title.
    dicom_station_from_calling_ae: bool = True
    # Match Scheduled Procedure Step Start Date and Time as one date-time range.
    dicom_combined_datetime: bool = False
    dicom_max_worklist_answers: int = 2000
    # The PACS asked (Study Root C-FIND) whether a study's images arrived before QC passes; no host: not asked.
    pacs_host: str = ""
    pacs_port: int = 4242
    pacs_aet: str = "PACS"
    pacs_timeout_seconds: float = 10.0
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
    # A job a killed worker held is taken over when its lease ends: short enough that a deadline
    # (a critical-result escalation) still fires within a minute of its due time.
    worker_lease_seconds: int = 40
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
