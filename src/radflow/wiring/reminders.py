"""The reminders area: preparation and reminder messages, replies, consent, no-shows and their risk model.

Its in-transaction handlers plan a visit's messages whenever an appointment is booked, moved or
cancelled (the jobs commit with the booking); its jobs deliver them through the process's gateway.
"""

from __future__ import annotations

from functools import cache, partial
from pathlib import Path

import yaml  # type: ignore[import-untyped, unused-ignore]

from radflow.adapters.db import messaging_tables  # noqa: F401  (declares the tables on the shared metadata)
from radflow.adapters.db.messaging_repositories import SqlMessaging, map_messaging
from radflow.adapters.noshow_model import default_model, fit_model
from radflow.adapters.notify.calendar import ICalendarWriter
from radflow.adapters.notify.letters import PdfLetterPrinter
from radflow.domain.appointment import AppointmentBooked, AppointmentCancelled, AppointmentRescheduled
from radflow.domain.noshow import NoShowModel
from radflow.domain.reminders import ReminderPolicy, parse_reminder_policy
from radflow.services import noshow, preparation
from radflow.services.reminders import contacts, replies, views
from radflow.services.reminders.delivery import send_message_job
from radflow.services.reminders.memory import MemoryMessaging
from radflow.services.reminders.planning import SEND_MESSAGE, on_appointment_event
from radflow.services.reminders.ports import MESSAGING, MessagingTools
from radflow.wiring import Area

REMINDER_SCHEDULE = Path(__file__).resolve().parents[1] / "catalog" / "reminders.yaml"


def load_reminder_policy(path: Path = REMINDER_SCHEDULE) -> ReminderPolicy:
    """Read and validate the reminder schedule shipped in the catalog."""
    return parse_reminder_policy(yaml.safe_load(path.read_text()), origin=path.name)


@cache
def shipped_model() -> NoShowModel:
    """The shipped no-show model (immutable; read once per process)."""
    return default_model()


TOOLS = MessagingTools(calendar=ICalendarWriter(), letters=PdfLetterPrinter(), policy=load_reminder_policy(),
                       default_model=shipped_model, fitter=fit_model)

_plan = partial(on_appointment_event, tools=TOOLS)

AREA = Area(
    name="reminders",
    handlers={
        **preparation.HANDLERS,
        **contacts.HANDLERS,
        **replies.HANDLERS,
        **noshow.HANDLERS,
        views.GetReminderBoard: views.get_reminder_board,
        views.GetVisitMessages: partial(views.get_visit_messages, tools=TOOLS),
        views.PrintVisitLetter: partial(views.print_visit_letter, tools=TOOLS),
        noshow.ExpectedNoShows: partial(noshow.expected_no_shows, tools=TOOLS),
    },
    job_handlers={
        SEND_MESSAGE: partial(send_message_job, tools=TOOLS),
        noshow.NOSHOW_REFIT: partial(noshow.refit_job, tools=TOOLS),
    },
    event_handlers={AppointmentBooked: [_plan], AppointmentRescheduled: [_plan], AppointmentCancelled: [_plan]},
    mappers=(map_messaging,),
    repositories={MESSAGING: SqlMessaging},
    memory_repositories={MESSAGING: MemoryMessaging},
)
