"""The printable documents of the results area: the report, the MQSA lay letter, the result notice.

Each is a `PrintableDocument` (facility header, recipient, sections) that the PDF printer port typesets;
the words are built here, the layout is the printer's.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from radflow.config import Settings
from radflow.domain.order import Order
from radflow.domain.patient import Patient
from radflow.domain.rads.mqsa import LayLetter
from radflow.domain.report import SECTION_TITLES, SECTIONS, Report
from radflow.services.results_ports import PrintableDocument


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%d %B %Y, %H:%M") if moment else ""


def _patient_lines(patient: Patient) -> tuple[str, ...]:
    place = ", ".join(p for p in (patient.city, patient.state, patient.postal_code) if p)
    return tuple(line for line in (patient.display_name, patient.address_line, place) if line)


def exam_day(order: Order, zone: ZoneInfo) -> date:
    """The day the exam was performed (started at the modality), in the center's zone."""
    for line in order.transitions:
        if line.event in ("exam_started", "exam_completed", "qc_passed"):
            return line.at.astimezone(zone).date()
    return order.received_at.astimezone(zone).date()


def report_document(report: Report, order: Order, patient: Patient, settings: Settings,
                    exam_name: str) -> PrintableDocument:
    """The signed report as it prints: patient and exam, the sections, the signature, then addenda."""
    zone = settings.zone
    header = (f"Patient: {patient.display_name}", f"Date of birth: {patient.birth_date.isoformat()}",
              f"MRN: {patient.mrn}", f"Exam: {exam_name} ({order.accession_number})",
              f"Performed: {exam_day(order, zone).isoformat()}",
              f"Ordering provider: {order.ordering_provider_name or order.ordering_provider_npi or 'none named'}")
    sections = [(SECTION_TITLES[name], tuple(p for p in report.section(name).split("\n") if p.strip()))
                for name in SECTIONS if report.section(name).strip()]
    if report.communications:
        sections.append(("Communication", tuple(report.communications)))
    signed = f"Electronically signed by {report.signed_by_name} on {_local(report.signed_at, zone)}"
    sections.append(("Signature", (signed,)))
    for addendum in report.addendum_list:
        title = "Communication addendum" if addendum.kind == "communication" else "Addendum"
        sections.append((f"{title} {addendum.seq}", (
            *[p for p in addendum.text.split("\n") if p.strip()],
            f"Signed by {addendum.signed_by_name or addendum.signed_by} on {_local(addendum.signed_at, zone)}")))
    return PrintableDocument(
        title=f"Radiology report — {exam_name}", facility_name=settings.center_name,
        facility_address=settings.center_address, facility_phone=settings.center_phone,
        recipient_lines=header, sections=tuple(sections), reference=order.accession_number,
        footer="Final report" if report.state.value == "final" else "Final report with addenda")


def lay_letter_document(letter: LayLetter, patient: Patient, settings: Settings, exam_date: date,
                        today: date) -> PrintableDocument:
    """The MQSA lay summary: the facility, the result in plain words, the density statement, whom to call."""
    paragraphs = letter.paragraphs()[1:]  # the facility header is the document's own
    return PrintableDocument(
        title="Your mammogram results", facility_name=settings.center_name, facility_address=settings.center_address,
        facility_phone=settings.center_phone, recipient_lines=(*_patient_lines(patient), today.strftime("%d %B %Y")),
        sections=(("", (f"Dear {patient.given_name} {patient.family_name},",
                        f"Thank you for having your mammogram at {settings.center_name} on "
                        f"{exam_date.strftime('%d %B %Y')}.")),
                  ("Your result", paragraphs)),
        footer=f"Overall assessment: {letter.assessment_category} (21 CFR 900.12(c)(2))")


def result_notice_document(patient: Patient, settings: Settings, exam_name: str, exam_date: date,
                           today: date) -> PrintableDocument:
    """A normal result, told to the patient in plain words, with where to read the full report."""
    return PrintableDocument(
        title="Your imaging results", facility_name=settings.center_name, facility_address=settings.center_address,
        facility_phone=settings.center_phone, recipient_lines=(*_patient_lines(patient), today.strftime("%d %B %Y")),
        sections=(("", (f"Dear {patient.given_name} {patient.family_name},",
                        f"The radiologist has read your {exam_name} of {exam_date.strftime('%d %B %Y')}. It shows no "
                        "finding that needs further tests.",
                        "The full report is in your patient portal, and your healthcare provider has it too.",
                        f"If you have questions, please call {settings.center_name} at {settings.center_phone}.")),),
        footer="")
