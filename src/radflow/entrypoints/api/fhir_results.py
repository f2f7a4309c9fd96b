"""FHIR R4 at /fhir for results: DiagnosticReport (the report, its RADS category as conclusionCode) and
Communication (each delivery of a report or letter: inboxes, the ORU, the portal, MQSA lay letters).

An order's report is the DiagnosticReport with the order's id (as its ServiceRequest and ImagingStudy
are): status preliminary, final or amended (R4 diagnostic-report-status), its versionId the report's
version, each structured RADS result a conclusionCode, the text and a link to the PDF as presentedForm.
A delivery is a Communication about that DiagnosticReport: preparation while pending, in-progress once
sent, completed once delivered (R4 event-status), with when the recipient first opened it as an
extension.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from radflow.domain.distribution import DeliveryChannel, Distribution, DistributionState, RecipientKind
from radflow.domain.errors import NotFound, ValidationError
from radflow.domain.policy import Action
from radflow.domain.report import ReportState
from radflow.domain.users import Principal
from radflow.entrypoints.api.deps import App, requires
from radflow.entrypoints.api.fhir.exchange import fhir_json, prefer, read_response
from radflow.services.result_resources import FindDeliveries, FindReports, FoundReport

router = APIRouter(tags=["FHIR DiagnosticReport and Communication"])

RADS_SYSTEM = "urn:radflow:rads"  # + ":" + the system's slug: urn:radflow:rads:lung-rads
FIRST_OPENED_EXTENSION = "urn:radflow:fhir:first-opened"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
_REPORT_STATUS = {ReportState.DRAFT: "registered", ReportState.PRELIMINARY: "preliminary",
                  ReportState.FINAL: "final", ReportState.AMENDED: "amended"}
_EVENT_STATUS = {DistributionState.PENDING: "preparation", DistributionState.SENT: "in-progress",
                 DistributionState.DELIVERED: "completed", DistributionState.OPENED: "completed",
                 DistributionState.ESCALATED: "completed", DistributionState.FAILED: "stopped",
                 DistributionState.CANCELLED: "not-done"}
# v3 ParticipationMode: how the communication was carried.
_MEDIUM = {DeliveryChannel.EMAIL: ("EMAILWRIT", "email"), DeliveryChannel.LETTER: ("MAILWRIT", "mail"),
           DeliveryChannel.SMS: ("SMSWRIT", "SMS message"), DeliveryChannel.INBOX: ("ELECTRONIC", "electronic data"),
           DeliveryChannel.PORTAL: ("ELECTRONIC", "electronic data"), DeliveryChannel.HL7: ("ELECTRONIC",
                                                                                          "electronic data")}


def _slug(system: str) -> str:
    return system.lower().replace("acr ", "").replace(" society", "").replace(" ", "-")


def diagnostic_report(found: FoundReport, base: str) -> dict[str, Any]:
    """A report as an R4 DiagnosticReport."""
    report, order, patient = found.report, found.order, found.patient
    issued = report.signed_at or report.preliminary_at or report.updated_at or report.created_at
    resource: dict[str, Any] = {
        "resourceType": "DiagnosticReport", "id": order.id,
        "meta": {"versionId": str(report.version), "lastUpdated": issued.isoformat()},
        "identifier": [{"system": "urn:radflow:report", "value": report.id},
                       {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                             "code": "ACSN"}]}, "value": order.accession_number}],
        "basedOn": [{"reference": f"ServiceRequest/{order.id}"}],
        "status": _REPORT_STATUS[report.state],
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "RAD",
                                  "display": "Radiology"}]}],
        "code": {"coding": [{"system": "urn:radflow:protocol", "code": order.protocol_code,
                             "display": found.exam_name}], "text": found.exam_name},
        "subject": {"reference": f"Patient/{patient.id}", "display": patient.display_name},
        "issued": issued.isoformat(),
        "imagingStudy": [{"reference": f"ImagingStudy/{order.id}"}],
        "presentedForm": [{"contentType": "text/plain; charset=utf-8", "title": "Report",
                           "data": base64.b64encode(report.text().encode()).decode("ascii")}],
    }
    if order.cpt_code:
        resource["code"]["coding"].append({"system": "http://www.ama-assn.org/go/cpt", "code": order.cpt_code})
    started = next((t.at for t in order.transitions if t.event == "exam_started"), None)
    if started is not None:
        resource["effectiveDateTime"] = started.isoformat()
    if report.signed_by_name:
        resource["resultsInterpreter"] = [{"display": report.signed_by_name,
                                           "identifier": {"system": "urn:radflow:user", "value": report.signed_by}}]
    if report.impression.strip():
        resource["conclusion"] = report.impression.strip()
    if report.rads_results:
        resource["conclusionCode"] = [{"coding": [{"system": f"{RADS_SYSTEM}:{_slug(r.system)}", "code": r.category,
                                                   "display": f"{r.label} — {r.descriptor}"}], "text": r.label}
                                      for r in report.rads_results]
    if report.is_signed:
        resource["presentedForm"].append({"contentType": "application/pdf", "title": "Report (PDF)",
                                          "url": f"{base}/api/orders/{order.id}/report.pdf"})
    return resource


def communication(d: Distribution) -> dict[str, Any]:
    """A delivery as an R4 Communication about its DiagnosticReport."""
    code, display = _MEDIUM[d.channel]
    if d.recipient_kind is RecipientKind.PATIENT:
        recipient: dict[str, Any] = {"reference": f"Patient/{d.patient_id}"}
    elif d.recipient_kind is RecipientKind.PLACER_SYSTEM:
        recipient = {"identifier": {"system": "urn:radflow:hl7-sender", "value": d.recipient_ref},
                     "display": d.recipient_name}
    else:
        recipient = {"identifier": {"system": NPI_SYSTEM, "value": d.recipient_ref}, "display": d.recipient_name}
    resource: dict[str, Any] = {
        "resourceType": "Communication", "id": d.id, "meta": {"versionId": str(d.version)},
        "identifier": [{"system": "urn:radflow:distribution", "value": d.key}],
        "basedOn": [{"reference": f"ServiceRequest/{d.order_id}"}],
        "status": _EVENT_STATUS[d.state],
        "category": [{"coding": [{"system": "urn:radflow:distribution-purpose", "code": d.purpose.value}]}],
        "medium": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode",
                                "code": code, "display": display}], "text": d.channel.value}],
        "subject": {"reference": f"Patient/{d.patient_id}"},
        "about": [{"reference": f"DiagnosticReport/{d.order_id}"}],
        "recipient": [recipient],
        "payload": [{"contentReference": {"reference": f"DiagnosticReport/{d.order_id}"}}],
    }
    if d.sent_at is not None:
        resource["sent"] = d.sent_at.isoformat()
    if d.delivered_at is not None:
        resource["received"] = d.delivered_at.isoformat()
    if d.first_opened_at is not None:
        resource["extension"] = [{"url": FIRST_OPENED_EXTENSION, "valueDateTime": d.first_opened_at.isoformat()}]
    notes = [f"actionable: {', '.join(d.actionable_reasons)}"] if d.actionable else []
    if d.escalated_at is not None:
        notes.append(f"escalated {d.escalated_at.isoformat()} to {', '.join(d.escalated_to) or 'nobody on file'}")
    if d.due_at is not None:
        notes.append(f"due {d.due_at.isoformat()}")
    if notes:
        resource["note"] = [{"text": n} for n in notes]
    return resource


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _bundle(request: Request, resources: list[dict[str, Any]]) -> Response:
    base = f"{_base(request)}/fhir"
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": len(resources),
                              "link": [{"relation": "self", "url": str(request.url)}]}
    if resources:
        bundle["entry"] = [{"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r,
                            "search": {"mode": "match"}} for r in resources]
    return fhir_json(bundle)


def _reference(value: str, resource_type: str, parameter: str) -> str:
    prefix = f"{resource_type}/"
    text = value.split("/fhir/", 1)[-1]
    if text.startswith(prefix):
        text = text[len(prefix):]
    if not text or "/" in text:
        raise ValidationError(f"{parameter}: expected '{prefix}<id>' or an id, got '{value}'", field=parameter)
    return text


def _search_keys(request: Request) -> tuple[str, str]:
    query = request.query_params
    patient = query.get("patient") or query.get("subject") or ""
    based_on = query.get("based-on") or ""
    known = {"patient", "subject", "based-on", "_count", "_format"}
    unknown = sorted(set(query) - known)
    # As every radflow search: unknown parameters are ignored unless the client asks for strict handling.
    if unknown and prefer(request).get("handling") == "strict":
        raise ValidationError(f"unsupported search parameter(s): {', '.join(unknown)}; use patient, subject or "
                              "based-on", field=unknown[0])
    return (_reference(patient, "Patient", "patient") if patient else "",
            _reference(based_on, "ServiceRequest", "based-on") if based_on else "")


@router.get("/DiagnosticReport")
def search_diagnostic_reports(request: Request, radflow: App,
                              actor: Annotated[Principal, requires(Action.REPORT_READ)]) -> Response:
    """Reports by patient (or subject) or by based-on ServiceRequest."""
    patient_id, order_id = _search_keys(request)
    found = radflow.bus.handle(FindReports(actor=actor, order_id=order_id, patient_id=patient_id))
    return _bundle(request, [diagnostic_report(f, _base(request)) for f in found])


@router.get("/DiagnosticReport/{order_id}")
def read_diagnostic_report(order_id: str, request: Request, radflow: App,
                           actor: Annotated[Principal, requires(Action.REPORT_READ)]) -> Response:
    """An order's report."""
    found = radflow.bus.handle(FindReports(actor=actor, order_id=order_id))
    if not found:
        raise NotFound(f"DiagnosticReport '{order_id}' not found")
    resource = diagnostic_report(found[0], _base(request))
    return read_response(resource, found[0].report.signed_at or found[0].report.updated_at)


@router.get("/Communication")
def search_communications(request: Request, radflow: App,
                          actor: Annotated[Principal, requires(Action.DISTRIBUTION_READ)]) -> Response:
    """Deliveries by patient (or subject) or by based-on ServiceRequest."""
    patient_id, order_id = _search_keys(request)
    found = radflow.bus.handle(FindDeliveries(actor=actor, order_id=order_id, patient_id=patient_id))
    return _bundle(request, [communication(d) for d in found])


@router.get("/Communication/{distribution_id}")
def read_communication(distribution_id: str, radflow: App,
                       actor: Annotated[Principal, requires(Action.DISTRIBUTION_READ)]) -> Response:
    """One delivery."""
    (found,) = radflow.bus.handle(FindDeliveries(actor=actor, distribution_id=distribution_id))
    return read_response(communication(found), found.delivered_at or found.sent_at)
