"""Questions the screens ask that the services do not answer yet: the fax inbox, probable duplicates
before registering, and staff names for the authorization queue.

They are written as services are (a frozen query, a handler that checks the policy, reads in one
unit of work and writes its audit record) so that they can move to `services/views.py` and
`bootstrap.command_handlers` unchanged. Until then `screen_radflow` registers them on the bus the
first time a screen needs the wired app.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Final

from fastapi import Depends, Request

from radflow.bootstrap import Radflow
from radflow.domain.patient import DuplicateCandidate, Patient, probable_duplicates
from radflow.domain.policy import Action
from radflow.domain.referral import Document
from radflow.domain.users import Principal
from radflow.services.access import guard
from radflow.services.audit import record_access
from radflow.services.bus import Handler
from radflow.services.context import ServiceContext
from radflow.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class ListFaxInbox:
    """Faxed pages picked up from the watched folder and not yet filed to a patient."""

    actor: Principal


def list_fax_inbox(cmd: ListFaxInbox, uow: UnitOfWork, ctx: ServiceContext) -> list[Document]:
    """The unfiled documents, oldest first (intake works the inbox in arrival order)."""
    guard(cmd.actor, Action.QUEUE_INTAKE)
    with uow:
        documents = sorted(uow.documents.unfiled(), key=lambda document: document.received_at)
        record_access(uow, ctx, cmd.actor, "document.inbox", object_type="document-list",
                      detail=f"{len(documents)} unfiled")
        uow.commit()
        return documents


@dataclass(frozen=True)
class FindProbableDuplicates:
    """Existing records that are probably the person about to be registered (before creating one)."""

    actor: Principal
    family_name: str
    given_name: str
    birth_date: date
    phone: str = ""


def find_probable_duplicates(cmd: FindProbableDuplicates, uow: UnitOfWork, ctx: ServiceContext) -> list[Patient]:
    """The same rule registration flags duplicates with (name, birth date, phone), best match first."""
    guard(cmd.actor, Action.PATIENT_SEARCH)
    with uow:
        candidates = uow.patients.duplicate_candidates(cmd.birth_date, cmd.phone, cmd.family_name)
        ids = probable_duplicates(DuplicateCandidate(cmd.family_name, cmd.given_name, cmd.birth_date, cmd.phone),
                                  candidates)
        by_id = {patient.id: patient for patient in candidates}
        found = [by_id[patient_id] for patient_id in ids]
        record_access(uow, ctx, cmd.actor, "patient.search", object_type="patient-list",
                      detail=f"{len(found)} probable duplicates before registration")
        uow.commit()
        return found


@dataclass(frozen=True)
class StaffNames:
    """Display names of staff by user id (who handles an authorization request)."""

    actor: Principal
    user_ids: tuple[str, ...]


def staff_names(cmd: StaffNames, uow: UnitOfWork, ctx: ServiceContext) -> dict[str, str]:
    """Names for the ids given; staff may know who their colleagues are (no patient data)."""
    guard(cmd.actor, Action.PIPELINE_BOARD)
    if not cmd.user_ids:
        return {}
    with uow:
        views: Any = getattr(uow, "views", None)
        if views is None:
            raise RuntimeError("this unit of work has no read model")
        names: dict[str, str] = views.user_names(sorted(set(cmd.user_ids)))
        return names


QUERY_HANDLERS: Final[Mapping[type, Handler]] = {
    ListFaxInbox: list_fax_inbox,
    FindProbableDuplicates: find_probable_duplicates,
    StaffNames: staff_names,
}
_INSTALLED: Final = "web.queries"


def install(radflow: Radflow, handlers: Mapping[type, Handler] = QUERY_HANDLERS) -> None:
    """Register the screens' queries on this process's bus (once; kept if bootstrap already has them)."""
    if radflow.extras.get(_INSTALLED):
        return
    for query_type, handler in handlers.items():
        try:
            radflow.bus.register(query_type, handler)
        except ValueError:
            continue  # wired already (by the composition root, or by a concurrent first request)
    radflow.extras[_INSTALLED] = True


def screen_radflow(request: Request) -> Radflow:
    """The wired radflow, with the screens' queries on its bus."""
    radflow: Radflow = request.app.state.radflow
    install(radflow)
    return radflow


ScreenApp = Annotated[Radflow, Depends(screen_radflow)]


def names_for(radflow: Radflow, actor: Principal, user_ids: Sequence[str]) -> dict[str, str]:
    """Staff names for ids (empty ids skipped)."""
    names: dict[str, str] = radflow.bus.handle(StaffNames(actor=actor, user_ids=tuple(i for i in user_ids if i)))
    return names
