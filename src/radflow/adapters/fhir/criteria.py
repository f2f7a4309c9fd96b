"""What a FHIR search asks for, in radflow's terms: one criteria type per searchable resource.

Each field is a tuple of AND-groups, each group a tuple of OR-alternatives (FHIR R4 §3.1.1.3.1).
An empty group (a status code that stands for no radflow state) matches nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from radflow.adapters.fhir.catalog import ExamCatalog, orders_billed_as
from radflow.adapters.fhir.patient import authority_of
from radflow.adapters.fhir.search import SearchRequest
from radflow.adapters.fhir.search_values import Span, Text, Token
from radflow.adapters.fhir.vocabulary import (
    CPT_SYSTEM,
    ORDER_STATE_SYSTEM,
    PROTOCOL_SYSTEM,
    SERVICE_REQUEST_STATUS,
    TASK_STATUS,
    states_with_status,
)
from radflow.domain.audit import Outcome
from radflow.domain.lifecycle import OrderState
from radflow.domain.protocols import ContrastPhase

Groups = tuple[tuple[str, ...], ...]

#: AuditEvent.outcome codes -> radflow's outcomes (see audit_event.OUTCOME_CODE).
OUTCOMES: Final = {"0": ("success",), "4": (Outcome.DENIED.value, Outcome.FAILED.value), "8": (), "12": ()}


@dataclass(frozen=True)
class PatientCriteria:
    """A Patient search."""

    ids: Groups = ()
    identifiers: tuple[tuple[Token, ...], ...] = ()  # Token.system is the assigning authority
    names: tuple[tuple[Text, ...], ...] = ()
    families: tuple[tuple[Text, ...], ...] = ()
    givens: tuple[tuple[Text, ...], ...] = ()
    birth: Span | None = None
    phones: Groups = ()


@dataclass(frozen=True)
class ExamMatch:
    """Orders for an exam: by protocol code, or by the CPT code they show (set, or implied by contrast)."""

    protocol_code: str = ""
    cpt: str = ""
    implied_by: tuple[tuple[str, ContrastPhase | None], ...] = ()


@dataclass(frozen=True)
class OrderCriteria:
    """A ServiceRequest or Task search."""

    ids: Groups = ()
    identifiers: tuple[tuple[Token, ...], ...] = ()
    patient_ids: Groups = ()
    states: Groups = ()
    authored: Span | None = None
    exams: tuple[tuple[ExamMatch, ...], ...] = ()


@dataclass(frozen=True)
class CoverageCriteria:
    """A Coverage search."""

    ids: Groups = ()
    patient_ids: Groups = ()


@dataclass(frozen=True)
class AuditCriteria:
    """An AuditEvent search."""

    patient_ids: Groups = ()
    recorded: Span | None = None
    user_ids: Groups = ()
    usernames: Groups = ()
    outcomes: Groups = ()


def _codes(groups: tuple[tuple[Token, ...], ...]) -> Groups:
    return tuple(tuple(t.code for t in group) for group in groups)


def patient_criteria(search: SearchRequest) -> PatientCriteria:
    """Patient search parameters as criteria."""
    identifiers = tuple(tuple(Token(authority_of(t.system) if t.system else t.system, t.code) for t in group)
                        for group in search.tokens("identifier"))
    return PatientCriteria(
        ids=_codes(search.tokens("_id")), identifiers=identifiers, names=search.strings("name"),
        families=search.strings("family"), givens=search.strings("given"), birth=search.span("birthdate"),
        phones=_codes(search.tokens("phone")),
    )


def _exam(catalog: ExamCatalog, code: Token) -> tuple[ExamMatch, ...]:
    by_protocol = ExamMatch(protocol_code=code.code)
    by_cpt = ExamMatch(cpt=code.code, implied_by=orders_billed_as(catalog, code.code))
    if code.system == PROTOCOL_SYSTEM:
        return (by_protocol,)
    if code.system == CPT_SYSTEM:
        return (by_cpt,)
    return (by_protocol, by_cpt) if code.system is None else ()


def _states(groups: tuple[tuple[Token, ...], ...], mapping: dict[OrderState, str] | None) -> Groups:
    """States a status token stands for: a FHIR status through `mapping`, or an exact radflow state."""
    result = []
    for group in groups:
        states: list[str] = []
        for item in group:
            if mapping is not None:
                states += [s.value for s in states_with_status(mapping, item.code)]
            elif item.system in (None, ORDER_STATE_SYSTEM) and item.code in {s.value for s in OrderState}:
                states.append(item.code)
        result.append(tuple(states))
    return tuple(result)


def service_request_criteria(search: SearchRequest, catalog: ExamCatalog) -> OrderCriteria:
    """ServiceRequest search parameters as criteria."""
    return OrderCriteria(
        ids=_codes(search.tokens("_id")), identifiers=search.tokens("identifier"),
        patient_ids=search.references("patient", "Patient") + search.references("subject", "Patient"),
        states=_states(search.tokens("status"), dict(SERVICE_REQUEST_STATUS)), authored=search.span("authored"),
        exams=tuple(tuple(m for t in group for m in _exam(catalog, t)) for group in search.tokens("code")),
    )


def task_criteria(search: SearchRequest) -> OrderCriteria:
    """Task search parameters as criteria (a Task is an order's pipeline state)."""
    return OrderCriteria(
        ids=_codes(search.tokens("_id")) + search.references("focus", "ServiceRequest"),
        patient_ids=search.references("patient", "Patient") + search.references("subject", "Patient"),
        states=_states(search.tokens("status"), dict(TASK_STATUS)) + _states(search.tokens("business-status"), None),
    )


def coverage_criteria(search: SearchRequest) -> CoverageCriteria:
    """Coverage search parameters as criteria."""
    return CoverageCriteria(
        ids=_codes(search.tokens("_id")),
        patient_ids=search.references("patient", "Patient") + search.references("beneficiary", "Patient"),
    )


def audit_criteria(search: SearchRequest) -> AuditCriteria:
    """AuditEvent search parameters as criteria."""
    outcomes = tuple(tuple(o for t in group for o in OUTCOMES.get(t.code, ())) for group in search.tokens("outcome"))
    return AuditCriteria(
        patient_ids=search.references("patient", "Patient"), recorded=search.span("date"),
        user_ids=search.any_references("agent"), usernames=_codes(search.tokens("altid")), outcomes=outcomes,
    )
