"""The words of each message, per purpose and channel: texts, voice scripts, emails with .ics and PDF, letters.

Every message names the center and its callback number and tells how to stop messages (FCC 15-72
¶147). Texts and calls never name the exam unless the patient chose so (HIPAA minimum necessary,
45 CFR 164.502(b)); the email and the letter carry the preparation, which needs the exam's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from radflow.domain.messaging.contact import Channel, ContactPreference
from radflow.domain.messaging.message import Message
from radflow.domain.messaging.rules import Purpose
from radflow.domain.messaging.texts import CANCEL_KEYWORD, CONFIRM_KEYWORD, TextPart, compose_sms, voice_script
from radflow.domain.patient import Patient
from radflow.services.ports import Attachment, OutboundMessage
from radflow.services.preparation import PreparationPlan, Visit, clock_time, day_text
from radflow.services.reminders.ports import CalendarEvent, Letter, LetterSection, MessagingTools


@dataclass(frozen=True)
class CenterContact:
    """Who the message is from and where to call back."""

    name: str
    phone: str
    address: str
    site_name: str = ""


def _short_when(moment: datetime, visit: Visit) -> str:
    local = moment.astimezone(visit.zone)
    return f"{local:%a} {local:%b} {local.day} {clock_time(moment, visit.zone)}"


_ABBREVIATIONS = (("Ultrasound", "US"), ("Mammography", "Mammo"), ("Radiograph", "X-ray"), (" and ", " & "),
                  ("without", "w/o"), ("with", "w/"))


def short_exam_name(name: str, limit: int = 24) -> str:
    """An exam's name short enough for a text ('Ultrasound thyroid and neck' -> 'US thyroid & neck')."""
    for long, short in _ABBREVIATIONS:
        name = name.replace(long, short)
    if len(name) <= limit:
        return name
    return name[:limit].rsplit(" ", 1)[0].rstrip(" &,")


def sms_text(purpose: Purpose, center: CenterContact, visit: Visit, plan: PreparationPlan,
             preference: ContactPreference) -> str:
    """A text of at most 160 characters for the preparation or a reminder."""
    lead = "appointment booked" if purpose is Purpose.PREPARATION else "reminder of your appointment"
    exams = ", ".join(short_exam_name(n) for n in plan.exam_names) if preference.exam_name_in_texts else ""
    where = "email" if preference.may_use(Channel.EMAIL) else "letter"
    return compose_sms([
        TextPart(f"{center.name}:"),
        TextPart(f"{lead} {_short_when(visit.first.start, visit)}."),
        TextPart(f"({exams})", required=False, importance=5),  # the patient asked for it
        TextPart(f"Arrive {clock_time(plan.arrive_at, visit.zone)}.", required=False, importance=4),
        TextPart(f"Preparation: see {where}.", required=False, importance=3),
        TextPart(f"Reply {CONFIRM_KEYWORD} to confirm, {CANCEL_KEYWORD} to cancel."),
        TextPart(f"Call {center.phone}."),
        TextPart("STOP to opt out"),
    ])


def voice_text(center: CenterContact, visit: Visit, plan: PreparationPlan) -> str:
    """A reminder call's script, within a minute."""
    return voice_script([
        f"Hello, this is {center.name} with an appointment reminder.",
        f"Your appointment is on {day_text(visit.first.start, visit.zone)} at "
        f"{clock_time(visit.first.start, visit.zone)}; please arrive at {clock_time(plan.arrive_at, visit.zone)}.",
        "Please follow the preparation instructions we sent you.",
        f"To change or cancel, call us at {center.phone}.",
        "To stop these calls, say stop or press 9, or tell us when you call. Thank you.",
    ])


def _calendar(tools: MessagingTools, visit: Visit, plan: PreparationPlan, center: CenterContact,
              now: datetime, organizer: str) -> Attachment:
    events = [CalendarEvent(
        uid=f"{exam.appointment_id}@radflow", sequence=exam.sequence,
        start=plan.arrive_at if exam is visit.first else exam.patient_from, end=exam.end,
        summary=f"Appointment at {center.name}",
        description=f"Please arrive at {clock_time(plan.arrive_at, visit.zone)}. Follow the preparation we sent "
                    f"you. Questions: {center.phone}.",
        location=center.address) for exam in visit.exams]
    return Attachment("appointment.ics", "text/calendar; method=REQUEST; charset=utf-8",
                      tools.calendar.invite(events, stamp=now, organizer=organizer))


def letter(center: CenterContact, patient: Patient, visit: Visit, plan: PreparationPlan, now: datetime) -> Letter:
    """The printable letter with the whole preparation."""
    exams = tuple(f"{clock_time(e.start, visit.zone)}: {name}" for e, name in zip(visit.exams, plan.exam_names,
                                                                                  strict=True))
    address = tuple(p for p in (patient.address_line, ", ".join(x for x in (patient.city, patient.state,
                                                                             patient.postal_code) if x)) if p)
    sections = [LetterSection("Your appointment", (f"{day_text(visit.first.start, visit.zone)} at {center.address}.",),
                              exams),
                LetterSection("Before your visit", (), plan.steps)]
    if plan.explanations:
        sections.append(LetterSection("About your exam", plan.explanations))
    if plan.bring:
        sections.append(LetterSection("Please bring", (), plan.bring))
    sections.append(LetterSection("Questions, changes, cancellations", (
        f"Call {center.phone}. If you cannot come, please tell us so that another patient can have the time.",)))
    return Letter(center_name=center.name, center_address=center.address, center_phone=center.phone,
                  recipient_name=f"{patient.given_name} {patient.family_name}", recipient_address=address,
                  date_text=day_text(now, visit.zone) + f" {now.astimezone(visit.zone).year}",
                  title="Your imaging appointment and how to prepare",
                  greeting=f"Dear {patient.given_name} {patient.family_name},", sections=tuple(sections),
                  closing=f"We look forward to seeing you. — {center.name}")


def email_text(purpose: Purpose, center: CenterContact, patient: Patient, visit: Visit,
               plan: PreparationPlan) -> tuple[str, str]:
    """Subject and body of the preparation email or an email reminder."""
    when = f"{day_text(visit.first.start, visit.zone)} at {clock_time(visit.first.start, visit.zone)}"
    subject = (f"Your appointment at {center.name} on {day_text(visit.first.start, visit.zone)}"
               if purpose is Purpose.PREPARATION else f"Reminder: your appointment on {when}")
    exams = [f"  {clock_time(e.start, visit.zone)}  {name}" for e, name in zip(visit.exams, plan.exam_names,
                                                                              strict=True)]
    lines = [f"Dear {patient.given_name} {patient.family_name},", "",
             ("Your appointment is booked:" if purpose is Purpose.PREPARATION else "This is a reminder of your "
              "appointment:"), *exams, f"  at {center.address}", "", "Before your visit:",
             *(f"  - {step}" for step in plan.steps)]
    if plan.bring:
        lines += ["", "Please bring:", *(f"  - {item}" for item in plan.bring)]
    if purpose is Purpose.PREPARATION and plan.explanations:
        lines += ["", "About your exam:", *plan.explanations]
    lines += ["", f"Reply {CONFIRM_KEYWORD} to confirm, {CANCEL_KEYWORD} to cancel, or RECEIVED to tell us these "
              "instructions reached you.", f"Questions or changes: call {center.phone}.",
              "The calendar invitation and a printable letter are attached." if purpose is Purpose.PREPARATION
              else "The calendar invitation is attached.", "",
              f"{center.name}, {center.address}",
              "Reply STOP to receive no more emails from us."]
    return subject, "\n".join(lines)


def render_visit_message(message: Message, *, to: str, tools: MessagingTools, center: CenterContact,
                         patient: Patient, visit: Visit, plan: PreparationPlan, preference: ContactPreference,
                         now: datetime, organizer: str) -> OutboundMessage:
    """The preparation or a reminder on the message's channel, rendered for real."""
    purpose = message.purpose

    def out(subject: str, body: str, attachments: tuple[Attachment, ...] = ()) -> OutboundMessage:
        return OutboundMessage(key=message.key, channel=message.channel.value, to=to, subject=subject, body=body,
                               attachments=attachments, patient_id=patient.id, order_id=visit.first.order_id)

    if message.channel is Channel.SMS:
        return out("", sms_text(purpose, center, visit, plan, preference))
    if message.channel is Channel.VOICE:
        return out("", voice_text(center, visit, plan))
    printed = tools.letters.pdf(letter(center, patient, visit, plan, now))
    pdf = Attachment("appointment-letter.pdf", "application/pdf", printed)
    if message.channel is Channel.LETTER:
        return out("Your imaging appointment and how to prepare", f"Print and post to: {to}", (pdf,))
    subject, body = email_text(purpose, center, patient, visit, plan)
    calendar = _calendar(tools, visit, plan, center, now, organizer)
    return out(subject, body, (calendar, pdf) if purpose is Purpose.PREPARATION else (calendar,))


def cancellation_text(center: CenterContact, when: str) -> str:
    """The notice of a visit the center cancelled (a text-sized sentence, used on every channel)."""
    return compose_sms([TextPart(f"{center.name}:"), TextPart(f"your appointment {when} is cancelled."),
                        TextPart(f"To book again call {center.phone}."), TextPart("STOP to opt out")])
