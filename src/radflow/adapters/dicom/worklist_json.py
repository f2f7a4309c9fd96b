"""Worklist items from JSON keyed by DICOM keyword (the MWL benchmark kit's `--json` format).

One object per item: top-level keywords, `ScheduledProcedureStepSequence` with one step,
code sequences as lists of objects, values as DICOM strings (PregnancyStatus an integer).
Start date and time are read as local time in the given zone. Used to load a demo or a
benchmark worklist into `InMemoryWorklistSource`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from radflow.adapters.dicom.matching import parse_date, parse_time
from radflow.adapters.dicom.worklist import (
    CodedEntry,
    PersonName,
    PregnancyStatus,
    ScheduledProcedureStep,
    WorklistItem,
)
from radflow.domain.errors import ValidationError


def _text(record: Mapping[str, Any], keyword: str) -> str:
    value = record.get(keyword)
    return "" if value is None else str(value).strip()


def _name(record: Mapping[str, Any], keyword: str) -> PersonName | None:
    text = _text(record, keyword)
    return PersonName.parse(text) if text else None


def _codes(record: Mapping[str, Any], keyword: str) -> tuple[CodedEntry, ...]:
    return tuple(
        CodedEntry(
            value=_text(code, "CodeValue"),
            scheme=_text(code, "CodingSchemeDesignator"),
            meaning=_text(code, "CodeMeaning"),
            scheme_version=_text(code, "CodingSchemeVersion"),
        )
        for code in record.get(keyword) or []
    )


def _multi(record: Mapping[str, Any], keyword: str) -> tuple[str, ...]:
    return tuple(v for v in _text(record, keyword).split("\\") if v)


def item_from_keywords(record: Mapping[str, Any], zone: tzinfo) -> WorklistItem:
    """One worklist item from a keyword-keyed object; ValidationError names what is wrong."""
    steps = record.get("ScheduledProcedureStepSequence") or []
    if len(steps) != 1:
        raise ValidationError("an item needs exactly one ScheduledProcedureStepSequence item", field="sps")
    step = steps[0]
    start_date = parse_date(_text(step, "ScheduledProcedureStepStartDate"), keyword="ScheduledProcedureStepStartDate")
    start_time = parse_time(_text(step, "ScheduledProcedureStepStartTime"), keyword="ScheduledProcedureStepStartTime")
    weight_text = _text(record, "PatientWeight")
    try:
        weight = Decimal(weight_text) if weight_text else None
    except InvalidOperation:
        raise ValidationError(f"PatientWeight {weight_text!r} is not a number", field="PatientWeight") from None
    birth_text = _text(record, "PatientBirthDate")
    pregnancy = record.get("PregnancyStatus")
    return WorklistItem(
        accession_number=_text(record, "AccessionNumber"),
        patient_name=PersonName.parse(_text(record, "PatientName")),
        patient_id=_text(record, "PatientID"),
        issuer_of_patient_id=_text(record, "IssuerOfPatientID"),
        study_instance_uid=_text(record, "StudyInstanceUID"),
        requested_procedure_id=_text(record, "RequestedProcedureID"),
        birth_date=parse_date(birth_text, keyword="PatientBirthDate") if birth_text else None,
        sex=_text(record, "PatientSex"),
        weight_kg=weight,
        medical_alerts=_multi(record, "MedicalAlerts"),
        allergies=_multi(record, "Allergies"),
        pregnancy_status=PregnancyStatus(int(pregnancy)) if pregnancy not in (None, "") else None,
        requested_procedure_description=_text(record, "RequestedProcedureDescription"),
        requested_procedure_codes=_codes(record, "RequestedProcedureCodeSequence"),
        requested_procedure_priority=_text(record, "RequestedProcedurePriority"),
        referring_physician=_name(record, "ReferringPhysicianName"),
        requesting_physician=_name(record, "RequestingPhysician"),
        admission_id=_text(record, "AdmissionID"),
        route_of_admissions=_text(record, "RouteOfAdmissions"),
        current_patient_location=_text(record, "CurrentPatientLocation"),
        scheduled_step=ScheduledProcedureStep(
            step_id=_text(step, "ScheduledProcedureStepID"),
            modality=_text(step, "Modality"),
            station_ae_title=_text(step, "ScheduledStationAETitle"),
            start=datetime.combine(start_date, start_time, zone),
            description=_text(step, "ScheduledProcedureStepDescription"),
            station_name=_text(step, "ScheduledStationName"),
            location=_text(step, "ScheduledProcedureStepLocation"),
            performing_physician=_name(step, "ScheduledPerformingPhysicianName"),
            protocol_codes=_codes(step, "ScheduledProtocolCodeSequence"),
            requested_contrast_agent=_text(step, "RequestedContrastAgent"),
            status=_text(step, "ScheduledProcedureStepStatus") or "SCHEDULED",
        ),
    )


def load_keyword_json(path: Path, zone: tzinfo) -> list[WorklistItem]:
    """Every item of a JSON list file; the error names the item's position."""
    records = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(records, list):
        raise ValidationError(f"{path}: expected a JSON list of worklist items")
    items = []
    for index, record in enumerate(records):
        try:
            items.append(item_from_keywords(record, zone))
        except (ValidationError, ValueError) as error:
            raise ValidationError(f"{path}: item {index}: {error}") from error
    return items
