"""The SQL behind FHIR searches: criteria in, one page of domain objects and the total out.

Which orders a user may see is decided once, by `services.views.visible_filter` and the order
conditions of `adapters.db.views.SqlReadModel`; every search here goes through those conditions
(patients and coverages through the orders that make them visible) and adds only its own criteria.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, or_, select
from sqlalchemy.orm import Session

from radflow.adapters.db import tables as t
from radflow.adapters.db.views import SqlReadModel
from radflow.adapters.fhir.criteria import AuditCriteria, CoverageCriteria, ExamMatch, OrderCriteria, PatientCriteria
from radflow.adapters.fhir.search import Page
from radflow.adapters.fhir.search_values import Span, Text, Token
from radflow.adapters.fhir.vocabulary import ACCESSION_SYSTEM
from radflow.domain.audit import AuditRecord, Outcome
from radflow.domain.order import Order
from radflow.domain.patient import Patient
from radflow.domain.referral import Coverage
from radflow.domain.values import normalise_phone, phone_match_key
from radflow.services.views import OrderFilter


class FhirReadModel(Protocol):
    """The searches FHIR needs beyond the service read model: a page of matches and the total."""

    def patients(self, criteria: PatientCriteria, visible: OrderFilter, page: Page) -> tuple[list[Patient], int]:
        """Patients matching `criteria` among those visible through `visible`."""
        ...

    def orders(self, criteria: OrderCriteria, visible: OrderFilter, page: Page) -> tuple[list[Order], int]:
        """Orders matching `criteria` among those `visible` lets the user see."""
        ...

    def coverages(self, criteria: CoverageCriteria, visible: OrderFilter, page: Page) -> tuple[list[Coverage], int]:
        """Coverages matching `criteria` of patients visible through `visible`."""
        ...

    def audit_records(self, criteria: AuditCriteria, page: Page) -> tuple[list[AuditRecord], int]:
        """Audit records matching `criteria`, newest first."""
        ...


def _any(group: Sequence[ColumnElement[bool]]) -> ColumnElement[bool]:
    return or_(*group) if group else false()


def _within(column: Any, groups: tuple[tuple[str, ...], ...]) -> list[ColumnElement[bool]]:
    return [column.in_(group) if group else false() for group in groups]


def _like(column: Any, text: Text) -> ColumnElement[bool]:
    if text.mode == "exact":
        return column == text.value  # type: ignore[no-any-return]
    escaped = text.value.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%" if text.mode == "contains" else f"{escaped}%"
    return func.lower(column).like(pattern, escape="\\")


def _span(column: Any, span: Span | None) -> list[ColumnElement[bool]]:
    if span is None:
        return []
    conditions = []
    if span.start is not None:
        conditions.append(column >= span.start)
    if span.end is not None:
        conditions.append(column < span.end)
    return conditions


def _phone_digits(column: Any) -> Any:
    stripped = column
    for character in ("-", " ", "(", ")", ".", "+"):
        stripped = func.replace(stripped, character, "")
    return stripped


class SqlFhirReadModel:
    """FHIR searches on one SQLAlchemy session."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._orders_view = SqlReadModel(session)

    def _visible_orders(self, stmt: Select[Any], visible: OrderFilter) -> Select[Any]:
        # The one place that says which orders a user may see (referrer: ordered, copied, covering).
        return self._orders_view.where_orders(stmt, visible)

    def _visible_patients(self, column: Any, visible: OrderFilter) -> list[ColumnElement[bool]]:
        if visible.visible_patient_ids is not None:
            return [column.in_(visible.visible_patient_ids)]
        if visible.visible_npis is not None:
            return [column.in_(self._visible_orders(select(t.orders.c.patient_id), visible))]
        return []

    def _page[T](self, model: type[T], table: Any, conditions: list[ColumnElement[bool]], order_by: Sequence[Any],
                 page: Page) -> tuple[list[T], int]:
        total = int(self.session.execute(select(func.count()).select_from(table).where(*conditions)).scalar_one())
        if page.count == 0 or page.offset >= total:
            return [], total
        stmt = select(model).where(*conditions).order_by(*order_by).limit(page.count).offset(page.offset)
        return list(self.session.scalars(stmt)), total

    def patients(self, criteria: PatientCriteria, visible: OrderFilter, page: Page) -> tuple[list[Patient], int]:
        """Patients matching `criteria` among those visible through `visible`."""
        p, ident = t.patients, t.patient_identifiers
        conditions = self._visible_patients(p.c.id, visible) + _within(p.c.id, criteria.ids)
        for group in criteria.identifiers:
            conditions.append(_any([exists().where(ident.c.patient_id == p.c.id, *self._identifier(token))
                                    for token in group]))
        for names in criteria.names:
            conditions.append(_any([or_(_like(p.c.family_name, n), _like(p.c.given_name, n),
                                        _like(p.c.middle_name, n)) for n in names]))
        for families in criteria.families:
            conditions.append(_any([_like(p.c.family_name, n) for n in families]))
        for givens in criteria.givens:
            conditions.append(_any([or_(_like(p.c.given_name, n), _like(p.c.middle_name, n)) for n in givens]))
        if criteria.birth is not None:
            start, end = criteria.birth.dates()
            conditions += [p.c.birth_date >= start] if start else []
            conditions += [p.c.birth_date < end] if end else []
        for phones in criteria.phones:
            digits = [normalise_phone(phone) for phone in phones if normalise_phone(phone)]
            # The indexed match key narrows to a handful of rows before the exact digits are compared.
            conditions.append(_any([and_(p.c.phone_key == phone_match_key(d),
                                         _phone_digits(p.c.phone).in_((d, f"1{d}"))) for d in digits]))
        return self._page(Patient, p, conditions, (p.c.family_name, p.c.given_name, p.c.id), page)

    @staticmethod
    def _identifier(token: Token) -> list[ColumnElement[bool]]:
        ident = t.patient_identifiers
        if token.system is None:
            return [ident.c.value == token.code]
        return [ident.c.value == token.code, ident.c.authority == token.system]

    def orders(self, criteria: OrderCriteria, visible: OrderFilter, page: Page) -> tuple[list[Order], int]:
        """Orders matching `criteria` among those `visible` lets the user see."""
        o = t.orders
        conditions = _within(o.c.id, criteria.ids) + _within(o.c.patient_id, criteria.patient_ids)
        conditions += _within(o.c.state, criteria.states) + _span(o.c.received_at, criteria.authored)
        conditions += [_any([self._order_identifier(token) for token in group]) for group in criteria.identifiers]
        conditions += [_any([self._exam(match) for match in group]) for group in criteria.exams]
        counted = self._visible_orders(select(func.count()).select_from(o), visible).where(*conditions)
        total = int(self.session.execute(counted).scalar_one())
        if page.count == 0 or page.offset >= total:
            return [], total
        stmt = self._visible_orders(select(Order), visible).where(*conditions)
        stmt = stmt.order_by(o.c.received_at, o.c.id).limit(page.count).offset(page.offset)
        return list(self.session.scalars(stmt)), total

    @staticmethod
    def _order_identifier(token: Token) -> ColumnElement[bool]:
        o = t.orders
        if token.system == ACCESSION_SYSTEM:
            return o.c.accession_number == token.code
        if token.system is None:
            return or_(o.c.accession_number == token.code, o.c.placer_order_number == token.code)
        return and_(o.c.placer_system == token.system, o.c.placer_order_number == token.code)

    @staticmethod
    def _exam(match: ExamMatch) -> ColumnElement[bool]:
        o = t.orders
        if match.protocol_code:
            return o.c.protocol_code == match.protocol_code
        implied = [and_(o.c.protocol_code == code, o.c.contrast.is_(None) if phase is None else o.c.contrast == phase)
                   for code, phase in match.implied_by]
        return or_(o.c.cpt_code == match.cpt, and_(o.c.cpt_code == "", _any(implied)))

    def coverages(self, criteria: CoverageCriteria, visible: OrderFilter, page: Page) -> tuple[list[Coverage], int]:
        """Coverages matching `criteria` of patients visible through `visible`."""
        c = t.coverages
        conditions = self._visible_patients(c.c.patient_id, visible) + _within(c.c.id, criteria.ids)
        conditions += _within(c.c.patient_id, criteria.patient_ids)
        return self._page(Coverage, c, conditions, (c.c.created_at, c.c.id), page)

    def audit_records(self, criteria: AuditCriteria, page: Page) -> tuple[list[AuditRecord], int]:
        """Audit records matching `criteria`, newest first."""
        a = t.audit_records
        conditions = _within(a.c.patient_id, criteria.patient_ids) + _span(a.c.at, criteria.recorded)
        conditions += _within(a.c.user_id, criteria.user_ids) + _within(a.c.username, criteria.usernames)
        conditions += [a.c.outcome.in_([Outcome(o) for o in group]) if group else false()
                       for group in criteria.outcomes]
        return self._page(AuditRecord, a, conditions, (a.c.id.desc(),), page)
