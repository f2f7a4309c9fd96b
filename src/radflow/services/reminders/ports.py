"""What the messaging services need from the outside: calendar files, printed letters, fitted models.

The adapters (`radflow.adapters.notify.calendar`, `...letters`, `radflow.adapters.noshow_model`)
implement these; `radflow.wiring.reminders` hands them to the services. Fakes live beside them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from radflow.domain.messaging.contact import Channel, ContactPreference
from radflow.domain.messaging.message import Message
from radflow.domain.messaging.replies import InboundReply, PatientResponse
from radflow.domain.messaging.rules import SentNotification
from radflow.domain.noshow import NoShowFeatures, NoShowModel
from radflow.domain.reminders import ReminderPolicy
from radflow.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class CalendarEvent:
    """One appointment as an iCalendar VEVENT (RFC 5545): the patient's arrival to the end of the exam."""

    uid: str
    sequence: int  # RFC 5546 3.2.2: raised on every change so calendars replace the old copy
    start: datetime
    end: datetime
    summary: str
    description: str
    location: str
    cancelled: bool = False


class CalendarWriter(Protocol):
    """Writes an iCalendar object with the visit's events (METHOD REQUEST, or CANCEL)."""

    def invite(self, events: Sequence[CalendarEvent], *, stamp: datetime, organizer: str) -> bytes:
        """The .ics file's bytes."""
        ...


@dataclass(frozen=True)
class LetterSection:
    """A heading and its paragraphs (or list items)."""

    heading: str
    paragraphs: tuple[str, ...] = ()
    items: tuple[str, ...] = ()


@dataclass(frozen=True)
class Letter:
    """A printable letter to a patient."""

    center_name: str
    center_address: str
    center_phone: str
    recipient_name: str
    recipient_address: tuple[str, ...]
    date_text: str
    title: str
    greeting: str
    sections: tuple[LetterSection, ...]
    closing: str


class LetterPrinter(Protocol):
    """Typesets a letter as PDF."""

    def pdf(self, letter: Letter) -> bytes:
        """The PDF's bytes."""
        ...


class ModelFitter(Protocol):
    """Fits a no-show model on rows of (features known at booking, whether the patient missed)."""

    def __call__(self, rows: Sequence[tuple[NoShowFeatures, bool]], *, fitted_on: str) -> NoShowModel: ...


@dataclass
class FakeCalendar:
    """A calendar writer for tests: a readable stand-in for the .ics."""

    written: list[Sequence[CalendarEvent]] = field(default_factory=list)

    def invite(self, events: Sequence[CalendarEvent], *, stamp: datetime, organizer: str) -> bytes:
        """Keep the events and give back a short text."""
        self.written.append(events)
        return "\n".join(f"{e.uid} {e.start.isoformat()} {'CANCEL' if e.cancelled else 'REQUEST'}"
                         for e in events).encode()


@dataclass
class FakePrinter:
    """A letter printer for tests: the letter as text."""

    printed: list[Letter] = field(default_factory=list)

    def pdf(self, letter: Letter) -> bytes:
        """Keep the letter and give back its title and sections as text."""
        self.printed.append(letter)
        return ("%PDF-fake\n" + letter.title + "\n" + "\n".join(s.heading for s in letter.sections)).encode()


MESSAGING = "messaging"


class MessagingRepository(Protocol):
    """Contact preferences, the message log, replies and responses, fitted no-show models."""

    def preference(self, patient_id: str, *, for_update: bool = False) -> ContactPreference | None:
        """The patient's preference (locked for the transaction with `for_update`: the caps count per patient)."""
        ...

    def add_preference(self, preference: ContactPreference) -> None:
        """Store a new preference."""
        ...

    def preferences_with_address(self, channel: Channel, address: str) -> list[ContactPreference]:
        """Every preference with consent (active or withdrawn) on `channel` to `address` (a shared family phone)."""
        ...

    def add_message(self, message: Message) -> None:
        """Store a new message."""
        ...

    def message_by_key(self, key: str) -> Message | None:
        """The message with this key."""
        ...

    def messages_for_visit(self, patient_id: str, visit_date: str) -> list[Message]:
        """A visit day's messages, oldest first."""
        ...

    def messages_for_patient(self, patient_id: str, limit: int = 200) -> list[Message]:
        """The patient's newest messages first."""
        ...

    def messages_planned_between(self, start: datetime, end: datetime, limit: int = 500) -> list[Message]:
        """Messages planned for [start, end), by plan time (the reminder board)."""
        ...

    def sent_notifications(self, patient_id: str, since: datetime) -> list[SentNotification]:
        """Notifications that reached the patient since `since` (for the caps)."""
        ...

    def latest_sent_to(self, channel: Channel, addresses: Sequence[str]) -> Message | None:
        """The newest message sent on `channel` to any of these addresses (whom a reply answers)."""
        ...

    def by_gateway_reference(self, reference: str) -> Message | None:
        """The message a gateway's delivery report is about."""
        ...

    def add_reply(self, reply: InboundReply) -> bool:
        """Record a reply; False when the gateway's reference was seen before."""
        ...

    def replies_for_patient(self, patient_id: str, limit: int = 50) -> list[InboundReply]:
        """The patient's newest replies first."""
        ...

    def add_response(self, response: PatientResponse) -> None:
        """Record a patient's answer about a visit."""
        ...

    def responses_for_visit(self, patient_id: str, visit_date: str) -> list[PatientResponse]:
        """A visit's recorded answers, oldest first."""
        ...

    def attendance(self, patient_id: str, before: datetime) -> tuple[int, int]:
        """(appointments attended or missed, of which missed) that began before `before`: the patient's record."""
        ...

    def history(self, since: datetime, until: datetime) -> list[tuple[str, datetime, datetime, str, bool]]:
        """Past appointments attended or missed in [since, until): (patient, booked at, start, modality, missed)."""
        ...

    def current_model(self) -> str | None:
        """The newest fitted no-show model (JSON), if any was fitted here."""
        ...

    def add_model(self, model_id: str, document: str, *, fitted_at: datetime, appointments: int,
                  held_out_auc: str) -> None:
        """Store a newly fitted model; it becomes the current one."""
        ...


@dataclass(frozen=True)
class MessagingTools:
    """What the wiring hands the messaging services: renderers, the reminder schedule, the models."""

    calendar: CalendarWriter
    letters: LetterPrinter
    policy: ReminderPolicy
    default_model: Callable[[], NoShowModel]
    fitter: ModelFitter


def messaging(uow: UnitOfWork) -> MessagingRepository:
    """The unit of work's messaging repository (registered by radflow.wiring.reminders)."""
    repository: MessagingRepository | None = getattr(uow, MESSAGING, None)
    if repository is None:
        raise RuntimeError("this unit of work has no 'messaging' repository: is radflow.wiring.reminders composed?")
    return repository
