"""SQL repositories: each method is named after the question it answers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, func, or_, select, text
from sqlalchemy.orm import Session, joinedload, lazyload

from radflow.adapters.db import tables as t
from radflow.domain.aggregate import Aggregate
from radflow.domain.audit import AuditRecord
from radflow.domain.authorization import Authorization, AuthorizationState
from radflow.domain.errors import NotFound
from radflow.domain.jobs import Job
from radflow.domain.order import Order
from radflow.domain.patient import Patient
from radflow.domain.referral import Coverage, Document, Referral
from radflow.domain.users import Role, User
from radflow.domain.values import phone_match_key
from radflow.services.unit_of_work import WebSession


class _Repository[T]:
    model: type[Any]
    label: str

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, item: T) -> None:
        self.session.add(item)

    def find(self, item_id: str) -> T | None:
        # Something added in this unit of work is not in the identity map until flushed: hand it back
        # as it is, rather than flushing everything pending and reading it again.
        for pending in self.session.new:
            if type(pending) is self.model and pending.id == item_id:
                return pending  # type: ignore[no-any-return]
        found: T | None = self.session.get(self.model, item_id)
        return found

    def get(self, item_id: str) -> T:
        found = self.find(item_id)
        if found is None:
            raise NotFound(f"{self.label} '{item_id}' not found")
        return found


class SqlPatients(_Repository[Patient]):
    """Patients in SQL."""

    model, label = Patient, "patient"

    def by_identifier(self, authority: str, value: str) -> Patient | None:
        held = select(t.patient_identifiers.c.patient_id).where(
            t.patient_identifiers.c.authority == authority, t.patient_identifiers.c.value == value)
        # The patient with all its identifiers in one round trip (an HL7 update reads them next).
        stmt = select(Patient).where(t.patients.c.id.in_(held)).options(joinedload(Patient.identifiers))  # type: ignore[arg-type]
        return self.session.scalars(stmt).unique().first()

    def duplicate_candidates(self, birth_date: date, phone: str, family_name: str) -> list[Patient]:
        conditions = [t.patients.c.birth_date == birth_date,
                      func.upper(t.patients.c.family_name) == family_name.upper()]
        key = phone_match_key(phone)
        if key:
            conditions.append(t.patients.c.phone_key == key)
        # Identifiers are left to be read on use: registration compares names, birth dates and phones only,
        # and a center's every registration meets a score of people born the same day.
        stmt = (select(Patient).where(or_(*conditions), t.patients.c.merged_into_id.is_(None))
                .options(lazyload(Patient.identifiers)).limit(200))  # type: ignore[arg-type]
        return list(self.session.scalars(stmt))


class SqlOrders(_Repository[Order]):
    """Orders in SQL."""

    model, label = Order, "order"

    def by_accession(self, accession_number: str) -> Order | None:
        return self.session.scalars(select(Order).where(t.orders.c.accession_number == accession_number)).first()

    def by_placer(self, placer_system: str, placer_order_number: str) -> list[Order]:
        stmt = select(Order).where(t.orders.c.placer_system == placer_system,
                                   t.orders.c.placer_order_number == placer_order_number)
        return list(self.session.scalars(stmt))

    def for_patient(self, patient_id: str) -> list[Order]:
        stmt = select(Order).where(t.orders.c.patient_id == patient_id).order_by(t.orders.c.received_at)
        return list(self.session.scalars(stmt))


class SqlReferrals(_Repository[Referral]):
    """Referrals in SQL."""

    model, label = Referral, "referral"


class SqlDocuments(_Repository[Document]):
    """Documents in SQL, content stored once per SHA-256."""

    model, label = Document, "document"

    def for_order(self, order_id: str) -> list[Document]:
        return list(self.session.scalars(select(Document).where(t.documents.c.order_id == order_id)))

    def for_referral(self, referral_id: str) -> list[Document]:
        return list(self.session.scalars(select(Document).where(t.documents.c.referral_id == referral_id)))

    def by_checksum(self, sha256: str) -> list[Document]:
        return list(self.session.scalars(select(Document).where(t.documents.c.sha256 == sha256)))

    def unfiled(self) -> list[Document]:
        stmt = select(Document).where(t.documents.c.patient_id.is_(None)).order_by(t.documents.c.received_at)
        return list(self.session.scalars(stmt))

    def put_content(self, sha256: str, content: bytes) -> None:
        exists = self.session.execute(select(t.document_contents.c.sha256).where(
            t.document_contents.c.sha256 == sha256)).first()
        if exists is None:
            self.session.execute(t.document_contents.insert().values(sha256=sha256, content=content))

    def content(self, sha256: str) -> bytes:
        row = self.session.execute(select(t.document_contents.c.content).where(
            t.document_contents.c.sha256 == sha256)).first()
        if row is None:
            raise NotFound(f"document content {sha256} not found")
        return bytes(row[0])


class SqlCoverages(_Repository[Coverage]):
    """Coverages in SQL."""

    model, label = Coverage, "coverage"

    def for_patient(self, patient_id: str) -> list[Coverage]:
        return list(self.session.scalars(select(Coverage).where(t.coverages.c.patient_id == patient_id)))


class SqlAuthorizations(_Repository[Authorization]):
    """Authorizations in SQL."""

    model, label = Authorization, "authorization"

    def current_for_order(self, order_id: str) -> Authorization | None:
        stmt = (select(Authorization)
                .where(t.authorizations.c.order_id == order_id,
                       t.authorizations.c.state != AuthorizationState.VOID.value)
                .order_by(t.authorizations.c.created_at.desc()))
        return self.session.scalars(stmt).first()


class SqlUsers(_Repository[User]):
    """Users in SQL."""

    model, label = User, "user"

    def by_username(self, username: str) -> User | None:
        return self.session.scalars(select(User).where(t.users.c.username == username)).first()

    def by_npi(self, npi: str) -> list[User]:
        return list(self.session.scalars(select(User).where(t.users.c.npi == npi)))

    def active_with_role(self, role: Role) -> list[User]:
        stmt = select(User).where(t.users.c.role == role, t.users.c.active.is_(True)).order_by(t.users.c.username)
        return list(self.session.scalars(stmt))


class SqlJobs:
    """Jobs in SQL; adding is idempotent on the key (a second writer's row is simply not added)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, job: Job) -> bool:
        if self.by_key(job.key) is not None:
            return False
        # Concurrent writers of the same key meet the unique constraint; the loser's unit of work
        # fails as a conflict and is retried by its caller, which then finds the job and skips it.
        self.session.add(job)
        return True

    def get(self, job_id: str) -> Job:
        found = self.session.scalars(select(Job).where(t.jobs.c.id == job_id)).first()
        if found is None:
            raise NotFound(f"job '{job_id}' not found")
        return found

    def by_key(self, key: str) -> Job | None:
        for pending in self.session.new:
            if isinstance(pending, Job) and pending.key == key:
                return pending
        # A key naming a record this unit of work is adding (an order just received) cannot be in the
        # table yet: ids are fresh random UUIDs, so the look-up is skipped.
        if any(_names_new_record(key, pending) for pending in self.session.new):
            return None
        # Pending jobs were looked at above and flushed ones are in the table: flushing everything else
        # the unit of work holds before this look-up would only split its inserts into more round trips.
        with self.session.no_autoflush:
            return self.session.scalars(select(Job).where(t.jobs.c.key == key)).first()


def _names_new_record(key: str, pending: object) -> bool:
    record_id = getattr(pending, "id", None)
    return isinstance(pending, Aggregate) and isinstance(record_id, str) and len(record_id) == 32 and record_id in key


class SqlAudit:
    """Append-only audit records."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, record: AuditRecord) -> None:
        self.session.add(record)


class SqlCounters:
    """Counters: PostgreSQL sequences (no lock held to commit), a row per counter on SQLite."""

    def __init__(self, session: Session, engine: Engine) -> None:
        self.session = session
        self.is_postgres = engine.dialect.name == "postgresql"

    def next_value(self, name: str) -> int:
        if self.is_postgres:
            return int(self.session.execute(text(f"SELECT nextval('counter_{name}')")).scalar_one())
        row = self.session.execute(
            text("UPDATE counters SET value = value + 1 WHERE name = :name RETURNING value"), {"name": name}
        ).first()
        if row is None:
            self.session.execute(t.counters.insert().values(name=name, value=1))
            return 1
        return int(row[0])


class SqlCredentials:
    """Sessions and API tokens (hashes only) in SQL."""

    def __init__(self, session: Session) -> None:
        self._db = session

    def add_session(self, session: WebSession, source: str) -> None:
        self._db.execute(t.web_sessions.insert().values(
            token_hash=session.token_hash, user_id=session.user_id, csrf_token=session.csrf_token,
            created_at=session.created_at, last_seen_at=session.last_seen_at, source=source[:100]))

    def session(self, token_hash: str) -> WebSession | None:
        row = self._db.execute(select(t.web_sessions).where(t.web_sessions.c.token_hash == token_hash)).first()
        if row is None:
            return None
        return WebSession(token_hash=row.token_hash, user_id=row.user_id, csrf_token=row.csrf_token,
                          created_at=row.created_at, last_seen_at=row.last_seen_at)

    def touch_session(self, token_hash: str, at: datetime) -> None:
        self._db.execute(t.web_sessions.update().where(t.web_sessions.c.token_hash == token_hash)
                             .values(last_seen_at=at))

    def end_session(self, token_hash: str) -> None:
        self._db.execute(t.web_sessions.delete().where(t.web_sessions.c.token_hash == token_hash))

    def add_token(self, token_hash: str, user_id: str, name: str, at: datetime) -> None:
        self._db.execute(t.api_tokens.insert().values(token_hash=token_hash, user_id=user_id, name=name,
                                                          created_at=at))

    def token_owner(self, token_hash: str) -> User | None:
        # One statement: the token and its user together (this runs on every API request).
        stmt = (select(User).join(t.api_tokens, t.api_tokens.c.user_id == t.users.c.id)
                .where(t.api_tokens.c.token_hash == token_hash, t.api_tokens.c.revoked_at.is_(None)))
        return self._db.scalars(stmt).first()

    def token_user(self, token_hash: str) -> str | None:
        row = self._db.execute(select(t.api_tokens.c.user_id).where(
            t.api_tokens.c.token_hash == token_hash, t.api_tokens.c.revoked_at.is_(None))).first()
        return None if row is None else str(row[0])
