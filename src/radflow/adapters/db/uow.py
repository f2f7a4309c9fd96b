"""The SQLAlchemy unit of work: one session, one transaction; database refusals become Conflicts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from radflow.adapters.db.repositories import (
    SqlAudit,
    SqlAuthorizations,
    SqlCounters,
    SqlCoverages,
    SqlCredentials,
    SqlDocuments,
    SqlJobs,
    SqlOrders,
    SqlPatients,
    SqlReferrals,
    SqlUsers,
)
from radflow.adapters.db.views import SqlReadModel
from radflow.domain.aggregate import Aggregate
from radflow.domain.errors import Conflict
from radflow.domain.events import DomainEvent
from radflow.services.unit_of_work import EventHandler, UnitOfWork


class SqlAlchemyUnitOfWork(UnitOfWork):
    """A unit of work over one SQLAlchemy session."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        engine: Engine,
        handlers: Mapping[type[DomainEvent], Sequence[EventHandler]] | None = None,
        extra_repositories: Mapping[str, Callable[[Session], Any]] | None = None,
    ) -> None:
        super().__init__(handlers)
        self._session_factory = session_factory
        self._engine = engine
        self._extra = dict(extra_repositories or {})
        self.session: Session | None = None

    def __enter__(self) -> SqlAlchemyUnitOfWork:
        super().__enter__()
        session = self._session_factory()
        self.session = session
        self.patients = SqlPatients(session)
        self.orders = SqlOrders(session)
        self.referrals = SqlReferrals(session)
        self.documents = SqlDocuments(session)
        self.coverages = SqlCoverages(session)
        self.authorizations = SqlAuthorizations(session)
        self.users = SqlUsers(session)
        self.jobs = SqlJobs(session)
        self.audit = SqlAudit(session)
        self.counters = SqlCounters(session, self._engine)
        self.credentials = SqlCredentials(session)
        self.views = SqlReadModel(session)
        for name, factory in self._extra.items():
            setattr(self, name, factory(session))
        return self

    def _touched(self) -> Iterable[Aggregate]:
        assert self.session is not None
        seen = [*self.session.identity_map.values(), *self.session.new]
        return [obj for obj in seen if isinstance(obj, Aggregate)]

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        super().__exit__(exc_type, exc, tb)
        # A refusal met by an automatic flush inside the block (a unique key another transaction took
        # meanwhile) is a conflict like one met at the commit: the caller may try again.
        refused = _refusal(exc) if isinstance(exc, Exception) else None
        if refused is not None:
            raise refused from exc

    def _commit(self) -> None:
        assert self.session is not None
        try:
            self.session.commit()
        except (StaleDataError, IntegrityError, OperationalError) as error:
            self._refused(error)
            raise

    def flush(self) -> None:
        """Send pending changes now (to learn database-assigned values), inside the transaction."""
        assert self.session is not None
        try:
            self.session.flush()
        except (IntegrityError, OperationalError) as error:
            self._refused(error)
            raise

    def _refused(self, error: Exception) -> None:
        """Roll back after a database error; raise the Conflict it means, if it means one."""
        assert self.session is not None
        self.session.rollback()
        refused = _refusal(error)
        if refused is not None:
            raise refused from error

    def rollback(self) -> None:
        """Discard everything not yet committed."""
        if self.session is not None:
            # Objects handed to the caller stay readable after the unit of work ends: detach them
            # before the rollback would expire them (their unsaved changes are discarded with it).
            self.session.expunge_all()
            self.session.rollback()

    def _close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None


def _refusal(error: Exception) -> Conflict | None:
    """The Conflict a database refusal means, or None when the error is not one."""
    if isinstance(error, StaleDataError):
        return Conflict("someone else changed this record at the same time; reload and try again")
    if isinstance(error, IntegrityError):
        return Conflict(f"the database refused the change: {_constraint(error)}")
    if isinstance(error, OperationalError) and any(w in str(error).lower() for w in ("locked", "deadlock")):
        return Conflict("the database was busy; try again")
    return None


def _constraint(error: IntegrityError) -> str:
    """A short, user-readable form of the violated constraint."""
    text = str(error.orig).splitlines()[0] if error.orig is not None else str(error)
    return text[:200]
