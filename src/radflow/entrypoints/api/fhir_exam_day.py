"""FHIR R4 at /fhir for the day of the exam: QuestionnaireResponse (screening answers) and ImagingStudy.

Each submission of screening answers is one QuestionnaireResponse (`<record id>-<n>`), based on the
order's ServiceRequest, with the source of its answers (patient online, patient at check-in,
technologist verified) in the extension `urn:radflow:fhir:answer-source`; a patient app creates one
by POSTing it (the source then follows who is signed in, never the body). An order's study is the
ImagingStudy with the order's id: status registered until acquired, available once acquired,
cancelled when the exam ended incomplete (R4 imagingstudy-status).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import Response

from radflow.catalog.screening_loader import shipped_screening_rules
from radflow.domain.errors import NotFound, ValidationError
from radflow.domain.policy import Action
from radflow.domain.screening import ItemType, RuleSet
from radflow.domain.screening.record import ScreeningRecord
from radflow.domain.study import StudyState
from radflow.domain.users import Principal
from radflow.entrypoints.api.deps import App, requires
from radflow.entrypoints.api.fhir.exchange import created_response, fhir_json, read_response
from radflow.services import screening as scr
from radflow.services.exam_day import room
from radflow.services.exam_day.ports import screenings

router = APIRouter(tags=["FHIR QuestionnaireResponse and ImagingStudy"])

SOURCE_EXTENSION = "urn:radflow:fhir:answer-source"
ANSWER_SYSTEM = "urn:radflow:screening"
_STUDY_STATUS = {StudyState.PENDING: "registered", StudyState.ACQUIRING: "registered",
                 StudyState.ACQUIRED: "available", StudyState.QC_PASSED: "available",
                 StudyState.INCOMPLETE: "cancelled"}


def _answer(rules: RuleSet, link_id: str, value: Any) -> list[dict[str, Any]]:
    item = rules.items.get(link_id)
    kind = item.type if item is not None else ItemType.TEXT
    values = value if isinstance(value, list) else [value]
    if kind is ItemType.BOOLEAN:
        return [{"valueBoolean": bool(v)} for v in values]
    if kind is ItemType.CHOICE:
        return [{"valueCoding": {"system": f"{ANSWER_SYSTEM}/{link_id}", "code": str(v)}} for v in values]
    if kind is ItemType.DECIMAL:
        return [{"valueDecimal": float(v)} for v in values]
    if kind is ItemType.DATE:
        return [{"valueDate": str(v)} for v in values]
    return [{"valueString": str(v)} for v in values]


def questionnaire_response(record: ScreeningRecord, submission: dict[str, Any]) -> dict[str, Any]:
    """One submission of answers as an R4 QuestionnaireResponse."""
    rules = shipped_screening_rules()
    resource_id = f"{record.id}-{submission['id']}"
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse", "id": resource_id,
        "meta": {"versionId": "1", "lastUpdated": submission["authored"]},
        "identifier": {"system": "urn:radflow:screening-response", "value": resource_id},
        "basedOn": [{"reference": f"ServiceRequest/{record.order_id}"}],
        "questionnaire": "urn:radflow:questionnaire:" + "+".join(submission.get("questionnaires") or ["screening"]),
        "status": submission.get("status", "completed"),
        "subject": {"reference": f"Patient/{record.patient_id}"},
        "authored": submission["authored"],
        "extension": [{"url": SOURCE_EXTENSION, "valueCode": submission["source"]}],
        "item": [{"linkId": entry["linkId"], "answer": _answer(rules, entry["linkId"], entry["value"])}
                 for entry in submission["item"]],
    }
    if submission["source"] == "patient_online":
        resource["source"] = {"reference": f"Patient/{record.patient_id}"}
    return resource


def imaging_study(view: room.StudyView) -> dict[str, Any]:
    """An order's study as an R4 ImagingStudy."""
    study = view.study
    assert study is not None
    steps = study.steps()
    started = min((s.started for s in steps if s.started), default=None)
    resource: dict[str, Any] = {
        "resourceType": "ImagingStudy", "id": view.order.id, "meta": {"versionId": str(study.version)},
        "identifier": [
            {"system": "urn:dicom:uid", "value": f"urn:oid:{study.study_instance_uid}"},
            {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "ACSN"}]},
             "value": study.accession_number}],
        "status": _STUDY_STATUS[study.state],
        "modality": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": study.modality}],
        "subject": {"reference": f"Patient/{study.patient_id}"},
        "basedOn": [{"reference": f"ServiceRequest/{view.order.id}"}],
        "numberOfSeries": sum(s.series_count for s in steps),
        "numberOfInstances": sum(s.image_count for s in steps),
        "description": view.order.protocol_code,
    }
    if started is not None:
        resource["started"] = started.isoformat()
    return resource


def _bundle(request: Request, resources: list[dict[str, Any]]) -> Response:
    base = f"{str(request.base_url).rstrip('/')}/fhir"
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": len(resources),
                              "link": [{"relation": "self", "url": str(request.url)}]}
    if resources:
        bundle["entry"] = [{"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r,
                            "search": {"mode": "match"}} for r in resources]
    return fhir_json(bundle)


def _reference(value: str, resource_type: str) -> str:
    prefix = f"{resource_type}/"
    if not value.startswith(prefix) or len(value) == len(prefix):
        raise ValidationError(f"expected a reference '{prefix}<id>', got '{value}'", field=resource_type)
    return value[len(prefix):]


@router.get("/QuestionnaireResponse")
def search_questionnaire_responses(request: Request, radflow: App,
                                   actor: Annotated[Principal, requires(Action.SCREENING_READ)],
                                   subject: str = "", patient: str = "", based_on: str = "") -> Response:
    """Screening answers by patient (`subject`/`patient`) or by order (`based-on=ServiceRequest/<id>`)."""
    based_on = based_on or request.query_params.get("based-on", "")
    if based_on:
        view: scr.ScreeningView = radflow.bus.handle(scr.GetScreening(actor=actor, order_id=_reference(
            based_on, "ServiceRequest")))
        records = [view.record] if view.record else []
    elif subject or patient:
        records = radflow.bus.handle(scr.PatientScreenings(actor=actor, patient_id=_reference(
            subject or patient, "Patient") if "/" in (subject or patient) else (subject or patient)))
    else:
        raise ValidationError("search QuestionnaireResponse by subject, patient or based-on", field="subject")
    return _bundle(request, [questionnaire_response(r, s) for r in records for s in r.submissions])


@router.get("/QuestionnaireResponse/{response_id}")
def read_questionnaire_response(response_id: str, radflow: App,
                                actor: Annotated[Principal, requires(Action.SCREENING_READ)]) -> Response:
    """One submission of screening answers."""
    record_id, _, number = response_id.rpartition("-")
    if not record_id or not number.isdigit():
        raise NotFound(f"QuestionnaireResponse/{response_id} not found")
    with radflow.uow() as uow:
        try:
            order_id = screenings(uow).get(record_id).order_id
        except NotFound:
            raise NotFound(f"QuestionnaireResponse/{response_id} not found") from None
    view: scr.ScreeningView = radflow.bus.handle(scr.GetScreening(actor=actor, order_id=order_id))
    record = view.record
    found = next((s for s in (record.submissions if record else []) if str(s["id"]) == number), None)
    if record is None or found is None:
        raise NotFound(f"QuestionnaireResponse/{response_id} not found")
    return read_response(questionnaire_response(record, found))


def _answers_of(body: dict[str, Any]) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for entry in body.get("item") or []:
        link_id = entry.get("linkId") if isinstance(entry, dict) else None
        values = []
        for answer in (entry.get("answer") or []) if isinstance(entry, dict) else []:
            for key in ("valueBoolean", "valueDecimal", "valueInteger", "valueDate", "valueString"):
                if key in answer:
                    values.append(answer[key])
            if "valueCoding" in answer:
                values.append(answer["valueCoding"].get("code"))
        if not link_id or not values:
            raise ValidationError("each item needs a linkId and an answer", field="QuestionnaireResponse.item")
        answers[link_id] = values if len(values) > 1 or link_id.endswith("_fields_t") else values[0]
    return answers


@router.post("/QuestionnaireResponse")
def create_questionnaire_response(request: Request, body: Annotated[dict[str, Any], Body()], radflow: App,
                                  actor: Annotated[Principal, requires(Action.SCREENING_ANSWER)]) -> Response:
    """Submit screening answers for the order the response is based on; evaluated at once."""
    if body.get("resourceType") != "QuestionnaireResponse":
        raise ValidationError("the body must be a QuestionnaireResponse", field="resourceType")
    based_on = [r.get("reference", "") for r in body.get("basedOn") or [] if isinstance(r, dict)]
    if len(based_on) != 1:
        raise ValidationError("basedOn names the order: exactly one ServiceRequest reference", field="basedOn")
    order_id = _reference(based_on[0], "ServiceRequest")
    outcome: scr.ScreeningOutcome = radflow.bus.handle(scr.SubmitScreeningAnswers(
        actor=actor, order_id=order_id, answers=_answers_of(body)))
    view: scr.ScreeningView = radflow.bus.handle(scr.GetScreening(actor=actor, order_id=order_id))
    if view.record is None or view.record.id != outcome.record_id:
        raise NotFound(f"the screening of ServiceRequest/{order_id} is gone")
    return created_response(request, questionnaire_response(view.record, view.record.submissions[-1]))


@router.get("/ImagingStudy")
def search_imaging_studies(request: Request, radflow: App, actor: Annotated[Principal, requires(Action.STUDY_READ)],
                           patient: str = "", subject: str = "", basedon: str = "") -> Response:
    """Studies by patient (`patient`/`subject`) or by order (`basedon=ServiceRequest/<id>`)."""
    if basedon:
        one: room.StudyView = radflow.bus.handle(room.GetStudy(actor=actor, order_id=_reference(
            basedon, "ServiceRequest")))
        views = [one] if one.study is not None else []
    elif patient or subject:
        who = patient or subject
        views = radflow.bus.handle(room.PatientStudies(actor=actor, patient_id=_reference(who, "Patient")
                                                       if "/" in who else who))
    else:
        raise ValidationError("search ImagingStudy by patient, subject or basedon", field="patient")
    return _bundle(request, [imaging_study(v) for v in views])


@router.get("/ImagingStudy/{order_id}")
def read_imaging_study(order_id: str, radflow: App,
                       actor: Annotated[Principal, requires(Action.STUDY_READ)]) -> Response:
    """The study of an order (its id is the order's)."""
    view: room.StudyView = radflow.bus.handle(room.GetStudy(actor=actor, order_id=order_id))
    if view.study is None:
        raise NotFound(f"ImagingStudy/{order_id}: nothing was performed for this order yet")
    return read_response(imaging_study(view))

