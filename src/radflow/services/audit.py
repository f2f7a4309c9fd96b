"""Writing audit records: in the caller's transaction for accesses, in one of its own for refusals."""

from __future__ import annotations

from radflow.domain.audit import AuditRecord, Outcome
from radflow.domain.users import Principal
from radflow.services.context import ServiceContext
from radflow.services.unit_of_work import UnitOfWork, UnitOfWorkFactory


def record_access(
    uow: UnitOfWork,
    ctx: ServiceContext,
    actor: Principal,
    action: str,
    *,
    patient_id: str = "",
    object_type: str = "",
    object_id: str = "",
    outcome: Outcome = Outcome.SUCCESS,
    detail: str = "",
) -> None:
    """Add one sealed audit record to the current unit of work (it commits with the change)."""
    record = AuditRecord(
        at=ctx.clock.now(),
        user_id=actor.user_id,
        username=actor.username,
        role=actor.role.value,
        action=action,
        outcome=outcome,
        source=actor.source,
        patient_id=patient_id or "",
        object_type=object_type,
        object_id=object_id,
        detail=detail[:1000],
    )
    record.seal(ctx.audit_key)
    uow.audit.add(record)


def record_refusal(
    uow_factory: UnitOfWorkFactory,
    ctx: ServiceContext,
    actor: Principal,
    action: str,
    *,
    detail: str,
    patient_id: str = "",
    object_type: str = "",
    object_id: str = "",
    outcome: Outcome = Outcome.DENIED,
) -> None:
    """Record a refused access (or failed login) in a transaction of its own."""
    with uow_factory() as uow:
        record_access(uow, ctx, actor, action, patient_id=patient_id, object_type=object_type,
                      object_id=object_id, outcome=outcome, detail=detail)
        uow.commit()
