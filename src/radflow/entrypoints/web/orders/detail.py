"""The order detail screen: its timeline, documents, authorization panel and the actions its state allows.

Which actions appear is read from the lifecycle table (`allowed_events`) and the authorization's own
state, then narrowed to what the signed-in role may do; the services check again on submit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse

from radflow.bootstrap import Radflow
from radflow.domain.authorization import Authorization, AuthorizationState
from radflow.domain.errors import Forbidden
from radflow.domain.lifecycle import OrderEvent, OrderState, allowed_events
from radflow.domain.order import Order
from radflow.domain.policy import Action, check
from radflow.domain.users import Principal
from radflow.entrypoints.web.choices import (
    CONTRAST_WORDS,
    contrast_options,
    document_kind_options,
    laterality_options,
    protocol_groups,
    variant_label,
)
from radflow.entrypoints.web.display import format_local, state_label
from radflow.entrypoints.web.forms import FormError
from radflow.entrypoints.web.rendering import render
from radflow.services.views import GetOrder, GetPatient, OrderDetail, PatientDetail


@dataclass(frozen=True)
class TimelineLine:
    """One line of the order's timeline as a person reads it."""

    at: datetime
    who: str
    what: str
    from_state: str | None
    to_state: str
    reason: str
    details: tuple[tuple[str, str], ...]

    @property
    def changes_state(self) -> bool:
        """True for a state change (not a note such as a document attached)."""
        return self.from_state != self.to_state


#: Timeline detail keys as a person writes them (the rest: "payer_reference" → "Payer reference").
_DETAIL_WORDS = {"cpt": "CPT", "icd10": "ICD-10", "npi": "NPI"}


def _detail_text(value: Any, zone: ZoneInfo) -> str:
    if isinstance(value, (list, tuple)):
        return "; ".join(_detail_text(v, zone) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_detail_text(v, zone)}" for k, v in value.items())
    if isinstance(value, str) and len(value) >= 20 and value[4:5] == "-" and "T" in value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        return format_local(moment, zone) if moment.tzinfo else value
    return str(value)


def _shown(key: str, value: Any) -> bool:
    # Internal ids mean nothing to a reader; empty values say nothing.
    return not key.endswith("_id") and value not in ("", None, [], {})


def timeline(order: Order, names: dict[str, str], zone: ZoneInfo) -> list[TimelineLine]:
    """Every state change and note, oldest first, with who did it by name and instants in the center's zone."""
    return [
        TimelineLine(
            at=line.at, who=names.get(line.by, line.by), what=state_label(line.event), from_state=line.from_state,
            to_state=line.to_state, reason=line.reason,
            details=tuple((_DETAIL_WORDS.get(key, state_label(key)), _detail_text(value, zone))
                          for key, value in line.details.items() if _shown(key, value)),
        )
        for line in order.transitions
    ]


@dataclass(frozen=True)
class RequestLogLine:
    """One step of an authorization request's own history."""

    at: datetime | None
    who: str
    what: str
    from_state: str
    to_state: str
    note: str


def request_log(authorization: Authorization, names: dict[str, str]) -> list[RequestLogLine]:
    """The request's history with names for who did each step."""
    lines = []
    for entry in authorization.log:
        at, by, event = entry.get("at"), str(entry.get("by", "")), str(entry.get("event", ""))
        note = str(entry.get("note", ""))
        if event == "assign":
            note = names.get(note, note)  # the note of an assignment is the assignee's id
        lines.append(RequestLogLine(
            at=datetime.fromisoformat(at) if isinstance(at, str) and at else None, who=names.get(by, by),
            what=state_label(event), from_state=str(entry.get("from", "")), to_state=str(entry.get("to", "")),
            note=note))
    return lines


def _may(actor: Principal, action: Action) -> bool:
    try:
        check(actor, action)
    except Forbidden:
        return False
    return True


@dataclass(frozen=True)
class OrderActions:
    """Which forms the detail screen offers."""

    supply_documentation: bool
    cancel: bool
    protocol: bool
    submit: bool
    decide: bool  # approve, deny, ask for more documentation
    request_documentation: bool
    resubmit: bool
    substitute: bool
    assign: bool
    upload: bool

    @property
    def any_authorization(self) -> bool:
        """True when the authorization panel has a form to show."""
        return self.submit or self.decide or self.request_documentation or self.resubmit or self.assign


def order_actions(actor: Principal, order: Order, authorization: Authorization | None) -> OrderActions:
    """The actions the order's state (and its authorization's) allows, for this role."""
    events = set(allowed_events(order.state))
    auth_state = authorization.state if authorization else None
    manages = _may(actor, Action.AUTHORIZATION_MANAGE)
    pending = order.state is OrderState.PENDING_AUTHORIZATION
    return OrderActions(
        supply_documentation=OrderEvent.DOCUMENTATION_RECEIVED in events and _may(actor, Action.ORDER_UPDATE),
        cancel=OrderEvent.CANCEL in events and _may(actor, Action.ORDER_CANCEL),
        protocol=order.state is OrderState.AWAITING_PROTOCOL and _may(actor, Action.ORDER_PROTOCOL),
        submit=manages and pending and auth_state is AuthorizationState.REQUIRED,
        decide=manages and OrderEvent.AUTHORIZATION_APPROVED in events and auth_state is AuthorizationState.SUBMITTED,
        request_documentation=manages and OrderEvent.PAYER_REQUESTED_DOCUMENTATION in events
        and auth_state in (AuthorizationState.REQUIRED, AuthorizationState.SUBMITTED),
        resubmit=manages and OrderEvent.AUTHORIZATION_RESUBMITTED in events and auth_state is AuthorizationState.DENIED,
        substitute=OrderEvent.STUDY_SUBSTITUTED in events and order.state is OrderState.AUTHORIZATION_DENIED
        and _may(actor, Action.ORDER_UPDATE),
        assign=manages and auth_state in (AuthorizationState.REQUIRED, AuthorizationState.SUBMITTED,
                                          AuthorizationState.DENIED),
        upload=_may(actor, Action.DOCUMENT_UPLOAD),
    )


def detail_context(radflow: Radflow, actor: Principal, detail: OrderDetail) -> dict[str, Any]:
    """Everything the detail template shows, beyond the order itself."""
    order, authorization = detail.order, detail.authorization
    protocol = radflow.catalog.protocol(order.protocol_code)
    actions = order_actions(actor, order, authorization)
    payer = radflow.catalog.payers.get(authorization.payer_id) if authorization else None
    coverage_payer = radflow.catalog.payers.get(detail.coverage.payer_id) if detail.coverage else None
    coverages: list[tuple[str, str]] = []
    if actions.supply_documentation:
        # The referrer may send the insurance details: offer the patient's recorded coverages.
        patient: PatientDetail = radflow.bus.handle(GetPatient(actor=actor, patient_id=order.patient_id))
        coverages = [(c.id, f"{_payer_name(radflow, c.payer_id)} · member {c.member_id}")
                     for c in patient.coverages if c.active]
    return {
        "detail": detail, "order": order, "patient": detail.patient, "authorization": authorization,
        "protocol": protocol, "variant_labels": {v.phase.value: variant_label(v) for v in protocol.variants},
        "contrast_words": {phase.value: words for phase, words in CONTRAST_WORDS.items()},
        "timeline": timeline(order, detail.names, radflow.settings.zone), "actions": actions,
        "payer_name": payer.name if payer else (authorization.payer_id if authorization else ""),
        "coverage_payer_name": coverage_payer.name if coverage_payer else "",
        "assignee_name": detail.names.get(authorization.assigned_to or "", "") if authorization else "",
        "request_log": request_log(authorization, detail.names) if authorization else [],
        "coverages": coverages, "contrast_options": contrast_options(), "laterality_options": laterality_options(),
        "document_kinds": document_kind_options(), "protocol_groups": protocol_groups(radflow.catalog),
        "shows_documents": _may(actor, Action.DOCUMENT_READ),
        "shows_authorization": _may(actor, Action.AUTHORIZATION_READ),
    }


def _payer_name(radflow: Radflow, payer_id: str) -> str:
    payer = radflow.catalog.payers.get(payer_id)
    return payer.name if payer else payer_id


def render_order(request: Request, radflow: Radflow, actor: Principal, order_id: str, *,
                 error: FormError | None = None, form: str = "", values: dict[str, str] | None = None,
                 status_code: int = 200) -> HTMLResponse:
    """The order detail screen; after a refused form, with the message beside that form and the input kept."""
    detail: OrderDetail = radflow.bus.handle(GetOrder(actor=actor, order_id=order_id))
    return render(request, actor, "orders/detail.html", status_code=status_code, error=error, form=form,
                  values=values or {}, **detail_context(radflow, actor, detail))
