"""REST routes: work queues, the pipeline board, catalog, audit, users, the caller's own profile."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from radflow.domain.audit import AuditRecord
from radflow.domain.lifecycle import OrderState
from radflow.domain.policy import Action
from radflow.domain.users import Principal
from radflow.entrypoints.api.deps import App, requires
from radflow.entrypoints.api.schemas import UserIn, jsonable
from radflow.services.accounts import CreateUser, create_user
from radflow.services.views import BoardCell, ListAuditRecords, ListOrders, OrderFilter, OrderList, PipelineBoard

router = APIRouter(tags=["queues and administration"])

#: Which states each work queue holds.
QUEUES: dict[str, tuple[Action, tuple[OrderState, ...]]] = {
    "intake": (Action.QUEUE_INTAKE, (OrderState.RECEIVED, OrderState.AWAITING_DOCUMENTATION)),
    "protocoling": (Action.QUEUE_PROTOCOL, (OrderState.AWAITING_PROTOCOL,)),
    "authorization": (Action.QUEUE_AUTHORIZATION, (OrderState.PENDING_AUTHORIZATION,
                                                   OrderState.AUTHORIZATION_DENIED)),
}


def _queue(radflow: App, actor: Principal, name: str, modality: str, limit: int, offset: int) -> dict[str, Any]:
    action, states = QUEUES[name]
    result: OrderList = radflow.bus.handle(ListOrders(actor=actor, action=action, query=OrderFilter(
        states=tuple(s.value for s in states), modality=modality, limit=limit, offset=offset)))
    return {"queue": name, "total": result.total, "orders": jsonable(result.rows)}


@router.get("/queues/intake")
def intake_queue(radflow: App, actor: Annotated[Principal, requires(Action.QUEUE_INTAKE)], modality: str = "",
                 limit: Annotated[int, Query(ge=1, le=500)] = 100,
                 offset: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
    """New referrals and checklist failures with what is missing."""
    return _queue(radflow, actor, "intake", modality, limit, offset)


@router.get("/queues/protocoling")
def protocoling_queue(radflow: App, actor: Annotated[Principal, requires(Action.QUEUE_PROTOCOL)],
                      modality: str = "", limit: Annotated[int, Query(ge=1, le=500)] = 100,
                      offset: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
    """Orders waiting for a radiologist to protocol them."""
    return _queue(radflow, actor, "protocoling", modality, limit, offset)


@router.get("/queues/authorization")
def authorization_queue(radflow: App, actor: Annotated[Principal, requires(Action.QUEUE_AUTHORIZATION)],
                        modality: str = "", limit: Annotated[int, Query(ge=1, le=500)] = 100,
                        offset: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
    """Orders pending authorization or denied."""
    return _queue(radflow, actor, "authorization", modality, limit, offset)


@router.get("/board")
def board(radflow: App, actor: Annotated[Principal, requires(Action.PIPELINE_BOARD)]) -> dict[str, Any]:
    """Orders per state and modality, with the oldest's received time."""
    cells: list[BoardCell] = radflow.bus.handle(PipelineBoard(actor=actor))
    return {"now": radflow.ctx.clock.now().isoformat(), "cells": jsonable(cells)}


@router.get("/catalog/protocols")
def protocols(radflow: App, actor: Annotated[Principal, requires(Action.CATALOG_READ)],
              modality: str = "") -> list[dict[str, Any]]:
    """The exam catalog (code, name, modality, body part, contrast variants with CPT and minutes)."""
    chosen = radflow.catalog.protocols_for_modality(modality) if modality else tuple(radflow.catalog)
    return [
        {"code": p.code, "name": p.name, "modality": p.modality.value, "body_part": p.body_part,
         "body_region": p.body_region.value, "requires_protocoling": p.requires_protocoling,
         "laterality_required": p.laterality_required,
         "variants": [{"contrast": v.phase.value, "cpt": v.cpt, "minutes": v.minutes, "agent": v.agent.value}
                      for v in p.variants]}
        for p in chosen
    ]


@router.get("/catalog/payers")
def payers(radflow: App, actor: Annotated[Principal, requires(Action.CATALOG_READ)]) -> list[dict[str, Any]]:
    """Payers and how long their approvals stay valid."""
    return [{"id": p.id, "name": p.name, "kind": p.kind.value, "approval_validity_days": p.approval_validity_days,
             "rules": len(p.rules)} for p in radflow.catalog.payers.values()]


@router.get("/audit")
def audit(radflow: App, actor: Annotated[Principal, requires(Action.AUDIT_READ)], patient_id: str = "",
          since: datetime | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[dict[str, Any]]:
    """Audit records, newest first (reading them is audited too)."""
    records: list[AuditRecord] = radflow.bus.handle(
        ListAuditRecords(actor=actor, patient_id=patient_id, since=since, limit=limit))
    return [{"id": r.id, "at": r.at.isoformat(), "username": r.username, "role": r.role, "action": r.action,
             "outcome": r.outcome.value, "patient_id": r.patient_id, "object_type": r.object_type,
             "object_id": r.object_id, "source": r.source, "detail": r.detail, "seq": r.seq} for r in records]


@router.post("/users", status_code=201)
def add_user(body: UserIn, radflow: App, actor: Annotated[Principal, requires(Action.USER_MANAGE)]) -> dict[str, Any]:
    """Create an account (administrators)."""
    user_id = create_user(CreateUser(actor=actor, **body.model_dump()), radflow.uow(), radflow.ctx, radflow.hasher)
    return {"user_id": user_id}


@router.get("/me")
def me(actor: Annotated[Principal, requires(Action.PROFILE_READ)]) -> dict[str, Any]:
    """Who the caller is."""
    return {"user_id": actor.user_id, "username": actor.username, "display_name": actor.display_name,
            "role": actor.role.value, "npi": actor.npi, "is_section_chief": actor.is_section_chief,
            "is_lead_technologist": actor.is_lead_technologist}
