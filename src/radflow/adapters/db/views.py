"""SQL behind the read side: queues, boards, search."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, Text, and_, cast, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from radflow.adapters.db import tables as t
from radflow.adapters.db.types import UtcDateTime
from radflow.domain.audit import AuditRecord
from radflow.domain.authorization import AuthorizationState
from radflow.domain.patient import RADFLOW_AUTHORITY
from radflow.domain.values import normalise_phone
from radflow.services.views import BoardCell, OrderFilter, OrderRow, PatientRow

_PHONE_TEXT = re.compile(r"[0-9\s()+./-]+")
_LIVE_AUTH = and_(t.authorizations.c.order_id == t.orders.c.id,
                  t.authorizations.c.state != AuthorizationState.VOID.value)


class SqlReadModel:
    """Read queries on one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def where_orders(self, stmt: Select[Any], query: OrderFilter) -> Select[Any]:
        """Add the order conditions of `query` — including who may see which orders — to `stmt`."""
        o = t.orders
        if query.states:
            stmt = stmt.where(o.c.state.in_(query.states))
        if query.modality:
            stmt = stmt.where(o.c.requested_modality == query.modality)
        if query.patient_id:
            stmt = stmt.where(o.c.patient_id == query.patient_id)
        if query.accession_number:
            stmt = stmt.where(o.c.accession_number == query.accession_number)
        if query.placer_order_number:
            stmt = stmt.where(o.c.placer_order_number == query.placer_order_number)
        if query.received_from:
            stmt = stmt.where(o.c.received_at >= query.received_from)
        if query.received_to:
            stmt = stmt.where(o.c.received_at < query.received_to)
        if query.visible_patient_ids is not None:
            stmt = stmt.where(o.c.patient_id.in_(query.visible_patient_ids))
        if query.visible_npis is not None:
            # JSON text on SQLite and JSONB's text form on PostgreSQL both write '"npi": "…"'.
            copied = [cast(o.c.copy_to, Text).like(f'%"npi": "{npi}"%') for npi in query.visible_npis]
            stmt = stmt.where(or_(o.c.ordering_provider_npi.in_(query.visible_npis), *copied))
        return stmt

    def order_rows(self, query: OrderFilter) -> list[OrderRow]:
        o, p, a, c = t.orders, t.patients, t.authorizations, t.coverages
        mrn = (select(t.patient_identifiers.c.value)
               .where(t.patient_identifiers.c.patient_id == p.c.id,
                      t.patient_identifiers.c.authority == RADFLOW_AUTHORITY)
               .limit(1).scalar_subquery())
        auth_state = (select(a.c.state).where(_LIVE_AUTH).order_by(a.c.created_at.desc()).limit(1)
                      .scalar_subquery())
        auth_assignee = (select(a.c.assigned_to).where(_LIVE_AUTH).order_by(a.c.created_at.desc()).limit(1)
                         .scalar_subquery())
        stmt = (select(o, p.c.family_name, p.c.given_name, p.c.birth_date, mrn.label("mrn"),
                       auth_state.label("auth_state"), auth_assignee.label("auth_assignee"), c.c.payer_id)
                .join(p, p.c.id == o.c.patient_id)
                .outerjoin(c, c.c.id == o.c.coverage_id))
        stmt = self.where_orders(stmt, query).order_by(o.c.target_at, o.c.received_at).limit(query.limit)
        stmt = stmt.offset(query.offset)
        rows = []
        for r in self.session.execute(stmt):
            rows.append(OrderRow(
                order_id=r.id, accession_number=r.accession_number, patient_id=r.patient_id,
                patient_name=f"{r.family_name.upper()}, {r.given_name}", mrn=r.mrn or "", birth_date=r.birth_date,
                protocol_code=r.protocol_code, modality=r.requested_modality,
                contrast=r.contrast.value if r.contrast else None, state=r.state.value, track=r.track.value,
                received_at=r.received_at, target_at=r.target_at,
                ordering_provider_name=r.ordering_provider_name, ordering_provider_npi=r.ordering_provider_npi,
                missing_items=tuple(r.missing_items or ()),
                authorization_state=str(r.auth_state or ""), authorization_assignee=r.auth_assignee or "",
                payer_id=r.payer_id or "",
            ))
        return rows

    def count_orders(self, query: OrderFilter) -> int:
        stmt = self.where_orders(select(func.count()).select_from(t.orders), query)
        return int(self.session.execute(stmt).scalar_one())

    def board(self) -> list[BoardCell]:
        o = t.orders
        stmt = (select(o.c.state, o.c.requested_modality, func.count(),
                       type_coerce(func.min(o.c.received_at), UtcDateTime()))
                .group_by(o.c.state, o.c.requested_modality))
        return [BoardCell(state=state.value, modality=modality, count=int(count), oldest_received_at=oldest)
                for state, modality, count, oldest in self.session.execute(stmt)]

    def search_patients(self, text: str, birth_date: date | None, limit: int) -> list[PatientRow]:
        p, ident = t.patients, t.patient_identifiers
        stmt = select(p).where(p.c.merged_into_id.is_(None))
        conditions = []
        whole_number = normalise_phone(text)
        if len(whole_number) >= 7 and _PHONE_TEXT.fullmatch(text.strip()):
            # A phone number however it was typed: "(555) 773-1000", "+1 555.773.1000".
            conditions.append(p.c.phone_key == whole_number[-7:])
            text = ""
        for word in text.replace(",", " ").split():
            like = f"{word.lower()}%"
            digits = normalise_phone(word)
            conditions.append(or_(
                func.lower(p.c.family_name).like(like), func.lower(p.c.given_name).like(like),
                p.c.id.in_(select(ident.c.patient_id).where(ident.c.value == word)),
                *([p.c.phone_key == digits[-7:]] if len(digits) >= 7 else []),
            ))
        if conditions:
            stmt = stmt.where(and_(*conditions))
        if birth_date is not None:
            stmt = stmt.where(p.c.birth_date == birth_date)
        stmt = stmt.order_by(p.c.family_name, p.c.given_name).limit(limit)
        rows = self.session.execute(stmt).all()
        mrns = self._mrns([r.id for r in rows])
        return [PatientRow(patient_id=r.id, name=f"{r.family_name.upper()}, {r.given_name}", mrn=mrns.get(r.id, ""),
                           birth_date=r.birth_date, sex=r.sex.value, phone=r.phone,
                           probable_duplicate_ids=tuple(r.probable_duplicate_ids or ()),
                           merged_into_id=r.merged_into_id) for r in rows]

    def _mrns(self, patient_ids: Sequence[str]) -> dict[str, str]:
        ident = t.patient_identifiers
        stmt = select(ident.c.patient_id, ident.c.value).where(ident.c.patient_id.in_(patient_ids),
                                                                ident.c.authority == RADFLOW_AUTHORITY)
        return {pid: value for pid, value in self.session.execute(stmt)}

    def audit_records(self, patient_id: str, since: datetime | None, limit: int) -> list[AuditRecord]:
        stmt = select(AuditRecord)
        if patient_id:
            stmt = stmt.where(t.audit_records.c.patient_id == patient_id)
        if since is not None:
            stmt = stmt.where(t.audit_records.c.at >= since)
        return list(self.session.scalars(stmt.order_by(t.audit_records.c.id.desc()).limit(limit)))

    def user_names(self, user_ids: Sequence[str]) -> dict[str, str]:
        rows = self.session.execute(select(t.users.c.id, t.users.c.display_name).where(t.users.c.id.in_(user_ids)))
        names = {uid: name for uid, name in rows}
        for uid in user_ids:
            if uid.startswith("system:"):
                names.setdefault(uid, uid.removeprefix("system:"))
        return names

