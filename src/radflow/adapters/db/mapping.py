"""Imperative ORM mapping of the domain's dataclasses onto the tables (the domain never sees SQLAlchemy)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Mapper, registry, relationship

from radflow.adapters.db import tables as t
from radflow.domain.audit import AuditRecord
from radflow.domain.authorization import Authorization
from radflow.domain.jobs import Job
from radflow.domain.order import Order, OrderTransitionRecord
from radflow.domain.patient import Patient, PatientIdentifier
from radflow.domain.referral import Coverage, Document, Referral
from radflow.domain.users import User
from radflow.domain.values import phone_match_key

mapper_registry = registry(metadata=t.metadata)
_started = False


MappingExtension = Callable[[registry], None]


def start_mappers(*extensions: MappingExtension) -> None:
    """Map the domain classes (once per process; called by the composition root, never at import).

    Each area that persists aggregates of its own passes a function mapping them on the same registry.
    """
    global _started
    if _started:
        return
    _started = True
    reg = mapper_registry
    reg.map_imperatively(PatientIdentifier, t.patient_identifiers)
    reg.map_imperatively(Patient, t.patients, properties={
        "identifiers": relationship(PatientIdentifier, cascade="all, delete-orphan", lazy="selectin",
                                    order_by=t.patient_identifiers.c.id),
        "_phone_key": t.patients.c.phone_key,
    })
    event.listen(Patient, "before_insert", _keep_phone_key)
    event.listen(Patient, "before_update", _keep_phone_key)
    reg.map_imperatively(OrderTransitionRecord, t.order_transitions)
    reg.map_imperatively(Order, t.orders, version_id_col=t.orders.c.version, properties={
        "transitions": relationship(OrderTransitionRecord, cascade="all, delete-orphan", lazy="selectin",
                                    order_by=t.order_transitions.c.seq),
    })
    reg.map_imperatively(Referral, t.referrals)
    reg.map_imperatively(Document, t.documents)
    reg.map_imperatively(Coverage, t.coverages)
    reg.map_imperatively(Authorization, t.authorizations)
    reg.map_imperatively(User, t.users)
    # `attempts` is the job's version: a claim by another worker (after this one's lease ran out) raises
    # it, so this worker's commit of the job's effects finds the row changed and is rolled back.
    reg.map_imperatively(Job, t.jobs, version_id_col=t.jobs.c.attempts, version_id_generator=False)
    reg.map_imperatively(AuditRecord, t.audit_records)
    for extend in extensions:
        extend(reg)


def _keep_phone_key(_mapper: Mapper[Any], _connection: Any, patient: Patient) -> None:
    """Derive the stored phone match key from the phone on every write (the domain never sees it)."""
    key = phone_match_key(patient.phone)
    if getattr(patient, "_phone_key", None) != key:
        patient._phone_key = key  # type: ignore[attr-defined]
