"""A request for copies of reports or a transfer of images: the HIPAA right of access, tracked to its deadline.

45 CFR 164.524(b)(2): the covered entity acts on a request for access no later than 30 days after
receiving it; once, it may extend that by no more than 30 days, telling the individual in writing,
within the first 30 days, why and when it will act. A request to send the copy to a third party is in
writing, signed by the individual, naming the recipient and where to send it (164.524(c)(3)(ii)): that
is the release form, required here before such a request can be fulfilled. A denial is in writing,
with its basis (164.524(d)).

    received ──start──▶ in_progress ──fulfil──▶ fulfilled
        │                  │
        ├──extend (once)───┤ (stays; due date +30 days)
        └──deny / withdraw─┴──▶ denied / withdrawn
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from radflow.domain.aggregate import Aggregate
from radflow.domain.errors import Conflict, InvalidTransition, ValidationError

ANSWER_DAYS: Final = 30  # 164.524(b)(2)(i)
EXTENSION_DAYS: Final = 30  # 164.524(b)(2)(ii)


class RequestState(StrEnum):
    """Where a records request stands."""

    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    FULFILLED = "fulfilled"
    DENIED = "denied"
    WITHDRAWN = "withdrawn"


class RequestEvent(StrEnum):
    """What happens to a records request."""

    START = "start"
    EXTEND = "extend"
    FULFIL = "fulfil"
    DENY = "deny"
    WITHDRAW = "withdraw"


class RequestedItem(StrEnum):
    """What is asked for."""

    REPORT_COPIES = "report_copies"
    IMAGES = "images"


class DeliveryMethod(StrEnum):
    """How the copy goes out."""

    PORTAL = "portal"  # the patient downloads it
    EMAIL = "email"
    MAIL = "mail"
    PICKUP = "pickup"  # a CD or paper at the desk
    TRANSFER = "transfer"  # images sent to another facility (its PACS, an image exchange)


R = RequestState
RE = RequestEvent
TRANSITIONS: Final[Mapping[tuple[RequestState, RequestEvent], RequestState]] = {
    (R.RECEIVED, RE.START): R.IN_PROGRESS,
    (R.RECEIVED, RE.EXTEND): R.RECEIVED,
    (R.IN_PROGRESS, RE.EXTEND): R.IN_PROGRESS,
    (R.RECEIVED, RE.FULFIL): R.FULFILLED,
    (R.IN_PROGRESS, RE.FULFIL): R.FULFILLED,
    (R.RECEIVED, RE.DENY): R.DENIED,
    (R.IN_PROGRESS, RE.DENY): R.DENIED,
    (R.RECEIVED, RE.WITHDRAW): R.WITHDRAWN,
    (R.IN_PROGRESS, RE.WITHDRAW): R.WITHDRAWN,
}
OPEN_STATES: Final = frozenset({R.RECEIVED, R.IN_PROGRESS})


@dataclass(eq=False)
class RecordsRequest(Aggregate):
    """One request for copies or an image transfer, with its 30-day deadline."""

    id: str
    patient_id: str
    items: list[str]
    order_ids: list[str]
    delivery: str
    received_at: datetime
    due_at: datetime
    requested_by: str
    requester_name: str
    state: RequestState = RequestState.RECEIVED
    third_party: bool = False
    recipient: str = ""  # the third party (a facility, a physician) or the address the copy goes to
    release_form_document_id: str = ""
    extended: bool = False
    extension_reason: str = ""
    answered_at: datetime | None = None
    answer: str = ""
    log: list[dict[str, Any]] = field(default_factory=list)
    version: int = 1

    @classmethod
    def receive(cls, *, id: str, patient_id: str, items: list[str], order_ids: list[str], delivery: str,
                at: datetime, requested_by: str, requester_name: str, third_party: bool, recipient: str,
                release_form_document_id: str) -> RecordsRequest:
        """Record a request; it is due 30 days after it was received."""
        try:
            items = sorted({RequestedItem(i).value for i in items})
            delivery = DeliveryMethod(delivery).value
        except ValueError as error:
            raise ValidationError(f"{error}; items are report_copies and images, delivery one of "
                                  f"{', '.join(d.value for d in DeliveryMethod)}", field="items") from None
        if not items:
            raise ValidationError("say what is asked for: report copies, images or both", field="items")
        if third_party and not recipient.strip():
            raise ValidationError("name the third party and where to send the copy (164.524(c)(3)(ii))",
                                  field="recipient")
        if delivery == DeliveryMethod.TRANSFER and not recipient.strip():
            raise ValidationError("name the facility the images go to", field="recipient")
        request = cls(id=id, patient_id=patient_id, items=items, order_ids=list(order_ids), delivery=delivery,
                      received_at=at, due_at=at + timedelta(days=ANSWER_DAYS), requested_by=requested_by,
                      requester_name=requester_name, third_party=third_party, recipient=recipient.strip(),
                      release_form_document_id=release_form_document_id)
        request.log = [{"at": at.isoformat(), "by": requested_by, "event": "receive"}]
        return request

    def _apply(self, event: RequestEvent, *, at: datetime, by: str, note: str = "") -> None:
        target = TRANSITIONS.get((self.state, event))
        if target is None:
            raise InvalidTransition(self.state.value, event.value, aggregate="records request")
        self.log = [*self.log, {"at": at.isoformat(), "by": by, "event": event.value, "from": self.state.value,
                                "to": target.value, "note": note}]
        self.state = target

    @property
    def is_open(self) -> bool:
        """True until answered (fulfilled or denied) or withdrawn."""
        return self.state in OPEN_STATES

    def is_overdue(self, now: datetime) -> bool:
        """True when open past its due date."""
        return self.is_open and now > self.due_at

    def start(self, *, at: datetime, by: str) -> None:
        """Someone is preparing the copy."""
        self._apply(RE.START, at=at, by=by)

    def extend(self, *, reason: str, at: datetime, by: str) -> None:
        """Extend once by 30 days, within the first 30, with the reason written to the individual."""
        if self.extended:
            raise Conflict("the deadline was extended once already; only one extension is allowed "
                           "(45 CFR 164.524(b)(2)(ii))")
        if at > self.due_at:
            raise Conflict("an extension must be given within the first 30 days (45 CFR 164.524(b)(2)(ii))")
        if not reason.strip():
            raise ValidationError("write the reason for the delay: it is sent to the individual", field="reason")
        self._apply(RE.EXTEND, at=at, by=by, note=reason.strip())
        self.extended, self.extension_reason = True, reason.strip()
        self.due_at = self.due_at + timedelta(days=EXTENSION_DAYS)

    def note_deadline_notice(self, kind: str, told: list[str], *, at: datetime, by: str = "system") -> None:
        """Who was told about the deadline: near (`due_soon`), passed (`overdue`), moved (`extension_sent`)."""
        self.log = [*self.log, {"at": at.isoformat(), "by": by, "event": kind,
                                "note": ", ".join(told) or "nobody to tell: no active manager"}]

    @property
    def worked_by(self) -> str:
        """Who started preparing the copy ('' while nobody has)."""
        return next((str(entry["by"]) for entry in reversed(self.log) if entry.get("event") == RE.START.value), "")

    def attach_release_form(self, document_id: str, *, at: datetime, by: str) -> None:
        """The signed release form arrived."""
        self.release_form_document_id = document_id
        self.log = [*self.log, {"at": at.isoformat(), "by": by, "event": "release_form", "note": document_id}]

    def fulfil(self, *, answer: str, at: datetime, by: str) -> None:
        """The copy went out (how, to whom); a third-party request needs its signed release form first."""
        if self.third_party and not self.release_form_document_id:
            raise Conflict("a copy for a third party needs the patient's signed release form first "
                           "(45 CFR 164.524(c)(3)(ii))")
        if not answer.strip():
            raise ValidationError("say what was sent, how and to whom", field="answer")
        self._apply(RE.FULFIL, at=at, by=by, note=answer.strip())
        self.answered_at, self.answer = at, answer.strip()

    def deny(self, *, basis: str, at: datetime, by: str) -> None:
        """Deny in writing, with the basis (and the review rights, 164.524(d)(2))."""
        if not basis.strip():
            raise ValidationError("a denial states its basis (45 CFR 164.524(d)(2))", field="basis")
        self._apply(RE.DENY, at=at, by=by, note=basis.strip())
        self.answered_at, self.answer = at, basis.strip()

    def withdraw(self, *, at: datetime, by: str, note: str = "") -> None:
        """The requester withdrew it."""
        self._apply(RE.WITHDRAW, at=at, by=by, note=note)
