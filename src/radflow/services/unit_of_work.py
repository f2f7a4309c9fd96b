"""The unit of work and the repository ports it carries.

A command handler opens a unit of work, loads aggregates through repositories, calls domain methods
and commits. On commit, the events recorded on the aggregates it touched are handed to the
in-transaction handlers (jobs, outbound messages: the transactional outbox), which may record more;
everything then commits at once.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import TracebackType
from typing import Any, Protocol, Self

from radflow.domain.aggregate import Aggregate
from radflow.domain.audit import AuditRecord
from radflow.domain.authorization import Authorization
from radflow.domain.events import DomainEvent
from radflow.domain.jobs import Job
from radflow.domain.order import Order
from radflow.domain.patient import Patient
from radflow.domain.referral import Coverage, Document, Referral
from radflow.domain.users import Role, User


class PatientRepository(Protocol):
    """Patients by id and by identifier; candidates for duplicate detection."""

    def add(self, patient: Patient) -> None: ...
    def get(self, patient_id: str) -> Patient: ...
    def find(self, patient_id: str) -> Patient | None: ...
    def by_identifier(self, authority: str, value: str) -> Patient | None: ...
    def duplicate_candidates(self, birth_date: date, phone: str, family_name: str) -> list[Patient]: ...


class OrderRepository(Protocol):
    """Orders by id, accession number, placer number and patient."""

    def add(self, order: Order) -> None: ...
    def get(self, order_id: str) -> Order: ...
    def find(self, order_id: str) -> Order | None: ...
    def by_accession(self, accession_number: str) -> Order | None: ...
    def by_placer(self, placer_system: str, placer_order_number: str) -> list[Order]: ...
    def for_patient(self, patient_id: str) -> list[Order]: ...


class ReferralRepository(Protocol):
    """Referrals by id."""

    def add(self, referral: Referral) -> None: ...
    def get(self, referral_id: str) -> Referral: ...


class DocumentRepository(Protocol):
    """Document records and their content, stored once per SHA-256."""

    def add(self, document: Document) -> None: ...
    def get(self, document_id: str) -> Document: ...
    def for_order(self, order_id: str) -> list[Document]: ...
    def for_referral(self, referral_id: str) -> list[Document]: ...
    def by_checksum(self, sha256: str) -> list[Document]: ...
    def unfiled(self) -> list[Document]: ...
    def put_content(self, sha256: str, content: bytes) -> None: ...
    def content(self, sha256: str) -> bytes: ...


class CoverageRepository(Protocol):
    """Coverages by id and by patient."""

    def add(self, coverage: Coverage) -> None: ...
    def get(self, coverage_id: str) -> Coverage: ...
    def for_patient(self, patient_id: str) -> list[Coverage]: ...


class AuthorizationRepository(Protocol):
    """Authorization requests; the current one of an order is the newest that is not void."""

    def add(self, authorization: Authorization) -> None: ...
    def get(self, authorization_id: str) -> Authorization: ...
    def current_for_order(self, order_id: str) -> Authorization | None: ...


class UserRepository(Protocol):
    """Users by id, user name and NPI."""

    def add(self, user: User) -> None: ...
    def get(self, user_id: str) -> User: ...
    def by_username(self, username: str) -> User | None: ...
    def by_npi(self, npi: str) -> list[User]: ...
    def active_with_role(self, role: Role) -> list[User]: ...


class JobRepository(Protocol):
    """The jobs table: adding is idempotent on the job's key."""

    def add(self, job: Job) -> bool: ...
    def get(self, job_id: str) -> Job: ...
    def by_key(self, key: str) -> Job | None: ...


class AuditRepository(Protocol):
    """Append-only audit records."""

    def add(self, record: AuditRecord) -> None: ...


@dataclass(frozen=True)
class WebSession:
    """A signed-in browser: who, its CSRF token, and when it was last used (for the idle timeout)."""

    token_hash: str
    user_id: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime


class CredentialRepository(Protocol):
    """Browser sessions and API tokens, stored only as hashes."""

    def add_session(self, session: WebSession, source: str) -> None: ...
    def session(self, token_hash: str) -> WebSession | None: ...
    def touch_session(self, token_hash: str, at: datetime) -> None: ...
    def end_session(self, token_hash: str) -> None: ...
    def add_token(self, token_hash: str, user_id: str, name: str, at: datetime) -> None: ...
    def token_user(self, token_hash: str) -> str | None: ...
    def token_owner(self, token_hash: str) -> User | None: ...


class Counters(Protocol):
    """Monotonic counters (accession numbers, MRNs), safe across processes."""

    def next_value(self, name: str) -> int: ...


EventHandler = Callable[[DomainEvent, "UnitOfWork"], None]


class UnitOfWork(abc.ABC):
    """One transaction: repositories in, commit or rollback out; events dispatched before commit."""

    patients: PatientRepository
    orders: OrderRepository
    referrals: ReferralRepository
    documents: DocumentRepository
    coverages: CoverageRepository
    authorizations: AuthorizationRepository
    users: UserRepository
    jobs: JobRepository
    audit: AuditRepository
    counters: Counters
    credentials: CredentialRepository

    def __init__(self, handlers: Mapping[type[DomainEvent], Sequence[EventHandler]] | None = None) -> None:
        self._handlers: Mapping[type[DomainEvent], Sequence[EventHandler]] = handlers or {}
        self.dispatched: list[DomainEvent] = []
        self.extras: dict[str, Any] = {}

    def __enter__(self) -> Self:
        self.dispatched = []
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # Anything not committed explicitly is rolled back: half-written data never lands.
        self.rollback()
        self._close()

    def commit(self) -> None:
        """Dispatch recorded events to the in-transaction handlers, then commit everything at once."""
        for _ in range(50):  # handlers may record further events; a cycle would be a bug
            events = [e for aggregate in self._touched() for e in aggregate.pull_events()]
            if not events:
                break
            for event in events:
                self.dispatched.append(event)
                for handler in self._handlers.get(type(event), ()):
                    handler(event, self)
        else:  # pragma: no cover - a programming error
            raise RuntimeError("event handlers keep recording events: a cycle")
        self._commit()

    @abc.abstractmethod
    def _touched(self) -> Iterable[Aggregate]:
        """Aggregates loaded or added in this unit of work."""

    @abc.abstractmethod
    def _commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None:
        """Discard everything not yet committed."""

    def _close(self) -> None:
        """Release resources (a database session); nothing by default."""


UnitOfWorkFactory = Callable[[], UnitOfWork]
