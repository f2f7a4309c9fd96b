"""In-memory fakes of the repositories and the unit of work, beside their ports.

Used by the unit tests and by the simulation. A unit of work works on a deep copy of the committed
store and writes it back on commit, so a rollback really discards what was done.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from radflow.domain.aggregate import Aggregate
from radflow.domain.audit import AuditRecord
from radflow.domain.authorization import Authorization, AuthorizationState
from radflow.domain.errors import NotFound
from radflow.domain.events import DomainEvent
from radflow.domain.jobs import Job, JobEvent, JobState
from radflow.domain.order import Order
from radflow.domain.patient import Patient
from radflow.domain.referral import Coverage, Document, Referral
from radflow.domain.users import Role, User
from radflow.domain.values import normalise_phone
from radflow.services.context import ServiceContext
from radflow.services.jobs import JobHandler
from radflow.services.unit_of_work import EventHandler, UnitOfWork, WebSession


@dataclass
class MemoryStore:
    """The committed state of the fake database."""

    tables: dict[str, dict[Any, Any]] = field(default_factory=dict)
    audit: list[AuditRecord] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    commits: int = 0

    def table(self, name: str) -> dict[Any, Any]:
        """The named table (created on first use)."""
        return self.tables.setdefault(name, {})


class _Table[T]:
    def __init__(self, rows: dict[Any, Any], label: str) -> None:
        self.rows = rows
        self.label = label

    def add(self, item: T) -> None:
        self.rows[item.id] = item  # type: ignore[attr-defined]

    def get(self, item_id: str) -> T:
        found = self.rows.get(item_id)
        if found is None:
            raise NotFound(f"{self.label} '{item_id}' not found")
        return found  # type: ignore[no-any-return]

    def find(self, item_id: str) -> T | None:
        return self.rows.get(item_id)

    def where(self, **match: Any) -> list[T]:
        return [r for r in self.rows.values() if all(getattr(r, k) == v for k, v in match.items())]


class MemoryPatients(_Table[Patient]):
    """Fake patient repository."""

    def by_identifier(self, authority: str, value: str) -> Patient | None:
        for patient in self.rows.values():
            if any(i.authority == authority and i.value == value for i in patient.identifiers):
                return patient  # type: ignore[no-any-return]
        return None

    def duplicate_candidates(self, birth_date: date, phone: str, family_name: str) -> list[Patient]:
        digits = normalise_phone(phone)
        return [
            p for p in self.rows.values()
            if p.merged_into_id is None and (
                p.birth_date == birth_date
                or (digits and normalise_phone(p.phone) == digits)
                or p.family_name.upper() == family_name.upper()
            )
        ]


class MemoryOrders(_Table[Order]):
    """Fake order repository."""

    def by_accession(self, accession_number: str) -> Order | None:
        found = self.where(accession_number=accession_number)
        return found[0] if found else None

    def by_placer(self, placer_system: str, placer_order_number: str) -> list[Order]:
        return self.where(placer_system=placer_system, placer_order_number=placer_order_number)

    def for_patient(self, patient_id: str) -> list[Order]:
        return sorted(self.where(patient_id=patient_id), key=lambda o: o.received_at)


class MemoryReferrals(_Table[Referral]):
    """Fake referral repository."""


class MemoryDocuments(_Table[Document]):
    """Fake document repository with a content store keyed by SHA-256."""

    def __init__(self, rows: dict[Any, Any], contents: dict[Any, Any]) -> None:
        super().__init__(rows, "document")
        self.contents = contents

    def for_order(self, order_id: str) -> list[Document]:
        return self.where(order_id=order_id)

    def for_referral(self, referral_id: str) -> list[Document]:
        return self.where(referral_id=referral_id)

    def by_checksum(self, sha256: str) -> list[Document]:
        return self.where(sha256=sha256)

    def unfiled(self) -> list[Document]:
        return self.where(patient_id=None)

    def put_content(self, sha256: str, content: bytes) -> None:
        self.contents.setdefault(sha256, content)

    def content(self, sha256: str) -> bytes:
        if sha256 not in self.contents:
            raise NotFound(f"document content {sha256} not found")
        return self.contents[sha256]  # type: ignore[no-any-return]


class MemoryCoverages(_Table[Coverage]):
    """Fake coverage repository."""

    def for_patient(self, patient_id: str) -> list[Coverage]:
        return self.where(patient_id=patient_id)


class MemoryAuthorizations(_Table[Authorization]):
    """Fake authorization repository."""

    def current_for_order(self, order_id: str) -> Authorization | None:
        live = [a for a in self.where(order_id=order_id) if a.state is not AuthorizationState.VOID]
        return max(live, key=lambda a: a.created_at) if live else None


class MemoryUsers(_Table[User]):
    """Fake user repository."""

    def by_username(self, username: str) -> User | None:
        found = self.where(username=username)
        return found[0] if found else None

    def by_npi(self, npi: str) -> list[User]:
        return self.where(npi=npi)

    def active_with_role(self, role: Role) -> list[User]:
        return sorted((u for u in self.rows.values() if u.active and u.role is role), key=lambda u: u.username)


class MemoryJobs(_Table[Job]):
    """Fake job repository; adding a job whose key exists does nothing."""

    def add(self, item: Job) -> bool:  # type: ignore[override]
        if self.by_key(item.key) is not None:
            return False
        self.rows[item.id] = item
        return True

    def by_key(self, key: str) -> Job | None:
        found = self.where(key=key)
        return found[0] if found else None


def run_due_jobs(uow_factory: Callable[[], UnitOfWork], handlers: Mapping[str, JobHandler],
                 ctx: ServiceContext) -> list[dict[str, Any]]:
    """Run every job due now on in-memory units of work, in due order, the way the worker does (the job's
    effect and its done mark committed together); returns each job's kind and result."""
    results: list[dict[str, Any]] = []
    while True:
        with uow_factory() as uow:
            jobs = uow.jobs
            assert isinstance(jobs, MemoryJobs), "run_due_jobs drives the in-memory job repository"
            due = sorted((j for j in jobs.rows.values() if j.state is JobState.PENDING and j.due_at <= ctx.clock.now()),
                         key=lambda j: (j.due_at, j.created_at))
            if not due:
                return results
            job = due[0]
            job.apply(JobEvent.CLAIM)
            job.attempts += 1
            result = handlers[job.kind](job, uow, ctx) or {}
            job.succeed(at=ctx.clock.now(), result=result)
            uow.commit()
            results.append({"kind": job.kind, **result})


class MemoryAudit:
    """Fake audit repository (append-only list)."""

    def __init__(self, records: list[AuditRecord]) -> None:
        self.records = records

    def add(self, record: AuditRecord) -> None:
        record.id = len(self.records) + 1
        self.records.append(record)


class MemoryCounters:
    """Fake counters."""

    def __init__(self, values: dict[str, int]) -> None:
        self.values = values

    def next_value(self, name: str) -> int:
        self.values[name] = self.values.get(name, 0) + 1
        return self.values[name]


class MemoryCredentials:
    """Fake sessions and tokens."""

    def __init__(self, sessions: dict[Any, Any], tokens: dict[Any, Any], users: dict[Any, Any]) -> None:
        self.sessions = sessions
        self.tokens = tokens
        self.users = users

    def add_session(self, session: WebSession, source: str) -> None:
        self.sessions[session.token_hash] = session

    def session(self, token_hash: str) -> WebSession | None:
        found: WebSession | None = self.sessions.get(token_hash)
        return found

    def touch_session(self, token_hash: str, at: datetime) -> None:
        found = self.sessions.get(token_hash)
        if found is not None:
            self.sessions[token_hash] = replace(found, last_seen_at=at)

    def end_session(self, token_hash: str) -> None:
        self.sessions.pop(token_hash, None)

    def add_token(self, token_hash: str, user_id: str, name: str, at: datetime) -> None:
        self.tokens[token_hash] = user_id

    def token_user(self, token_hash: str) -> str | None:
        found: str | None = self.tokens.get(token_hash)
        return found

    def token_owner(self, token_hash: str) -> User | None:
        user_id = self.tokens.get(token_hash)
        found: User | None = self.users.get(user_id) if user_id else None
        return found


class InMemoryUnitOfWork(UnitOfWork):
    """A unit of work over a MemoryStore: a deep copy in, written back on commit."""

    def __init__(
        self,
        store: MemoryStore | None = None,
        handlers: Mapping[type[DomainEvent], Sequence[EventHandler]] | None = None,
        extra_repositories: Mapping[str, Callable[[MemoryStore], Any]] | None = None,
    ) -> None:
        super().__init__(handlers)
        self.store = store or MemoryStore()
        self._extra = dict(extra_repositories or {})
        self._working: MemoryStore | None = None
        self.committed = False

    def __enter__(self) -> InMemoryUnitOfWork:
        super().__enter__()
        self._working = copy.deepcopy(self.store)
        self._bind_tables()
        self.committed = False
        return self

    def _touched(self) -> Iterable[Aggregate]:
        assert self._working is not None
        for table in self._working.tables.values():
            for row in table.values():
                if isinstance(row, Aggregate):
                    yield row

    def _commit(self) -> None:
        assert self._working is not None
        self._working.commits += 1
        self.store.tables = self._working.tables
        self.store.audit = self._working.audit
        self.store.counters = self._working.counters
        self.store.commits = self._working.commits
        self._working = copy.deepcopy(self.store)
        self._bind_tables()
        self.committed = True

    def _bind_tables(self) -> None:
        # Each working copy gets fresh repositories; after a commit the unit of work goes on on a new copy.
        working = self._working
        assert working is not None
        self.patients = MemoryPatients(working.table("patients"), "patient")
        self.orders = MemoryOrders(working.table("orders"), "order")
        self.referrals = MemoryReferrals(working.table("referrals"), "referral")
        self.documents = MemoryDocuments(working.table("documents"), working.table("document_contents"))
        self.coverages = MemoryCoverages(working.table("coverages"), "coverage")
        self.authorizations = MemoryAuthorizations(working.table("authorizations"), "authorization")
        self.users = MemoryUsers(working.table("users"), "user")
        self.jobs = MemoryJobs(working.table("jobs"), "job")
        self.audit = MemoryAudit(working.audit)
        self.counters = MemoryCounters(working.counters)
        self.credentials = MemoryCredentials(working.table("web_sessions"), working.table("api_tokens"),
                                             working.table("users"))
        for name, factory in self._extra.items():
            setattr(self, name, factory(working))

    def rollback(self) -> None:
        """Drop the working copy."""
        self._working = copy.deepcopy(self.store)
        self._bind_tables()
