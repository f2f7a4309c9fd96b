"""The worklist's DICOM attributes: which ones radflow holds, their VRs, and an item's values.

The attributes are those of the Modality Worklist Information Model (PS3.4 K.6.1.2,
Table K.6-1) that an IHE Scheduled Workflow scanner asks for (IHE RAD TF-2 RAD-5), plus
the safety fields a worklist carries (Medical Alerts, Allergies, Pregnancy Status,
Requested Contrast Agent). An item's values are given in their DICOM string form,
keyed by DICOM keyword; sequences are lists of such mappings. The start of the
scheduled step, an instant, is shown as the site's local date and time (DA, TM).
"""

from __future__ import annotations

from datetime import tzinfo

from radflow.adapters.dicom.worklist import CodedEntry, PersonName, WorklistItem

AttributeValue = str | int | list["Values"] | None
Values = dict[str, AttributeValue]

# Code Sequence Macro (PS3.3 8.8), basic coded entry attributes.
CODE_ITEM: dict[str, str] = {
    "CodeValue": "SH",
    "CodingSchemeDesignator": "SH",
    "CodingSchemeVersion": "SH",
    "CodeMeaning": "LO",
}
REFERENCED_SOP_ITEM: dict[str, str] = {"ReferencedSOPClassUID": "UI", "ReferencedSOPInstanceUID": "UI"}

STEP_ATTRIBUTES: dict[str, str] = {
    "Modality": "CS",
    "ScheduledStationAETitle": "AE",
    "ScheduledProcedureStepStartDate": "DA",
    "ScheduledProcedureStepStartTime": "TM",
    "ScheduledPerformingPhysicianName": "PN",
    "ScheduledProcedureStepDescription": "LO",
    "ScheduledProtocolCodeSequence": "SQ",
    "ScheduledProcedureStepID": "SH",
    "ScheduledStationName": "SH",
    "ScheduledProcedureStepLocation": "SH",
    "RequestedContrastAgent": "LO",
    "ScheduledProcedureStepStatus": "CS",
}

ITEM_ATTRIBUTES: dict[str, str] = {
    "AccessionNumber": "SH",
    "ReferringPhysicianName": "PN",
    "ReferencedStudySequence": "SQ",
    "ReferencedPatientSequence": "SQ",
    "PatientName": "PN",
    "PatientID": "LO",
    "IssuerOfPatientID": "LO",
    "PatientBirthDate": "DA",
    "PatientSex": "CS",
    "PatientWeight": "DS",
    "MedicalAlerts": "LO",
    "Allergies": "LO",
    "PregnancyStatus": "US",
    "StudyInstanceUID": "UI",
    "RequestingPhysician": "PN",
    "RequestedProcedureDescription": "LO",
    "RequestedProcedureCodeSequence": "SQ",
    "AdmissionID": "LO",
    "RouteOfAdmissions": "LO",
    "CurrentPatientLocation": "LO",
    "ScheduledProcedureStepSequence": "SQ",
    "RequestedProcedureID": "SH",
    "RequestedProcedurePriority": "SH",
}

# The attributes held inside each sequence radflow fills.
SEQUENCE_ITEMS: dict[str, dict[str, str]] = {
    "ScheduledProcedureStepSequence": STEP_ATTRIBUTES,
    "RequestedProcedureCodeSequence": CODE_ITEM,
    "ScheduledProtocolCodeSequence": CODE_ITEM,
    "ReferencedStudySequence": REFERENCED_SOP_ITEM,
    "ReferencedPatientSequence": REFERENCED_SOP_ITEM,
}


def _name(name: PersonName | None) -> str | None:
    return name.dicom if name is not None else None


def _text(value: str) -> str | None:
    return value or None


def _multi(values: tuple[str, ...]) -> str | None:
    # A multi-valued LO travels as values separated by '\' (PS3.5 6.4).
    return "\\".join(values) if values else None


def _codes(codes: tuple[CodedEntry, ...]) -> list[Values]:
    return [
        {
            "CodeValue": code.value,
            "CodingSchemeDesignator": code.scheme,
            "CodingSchemeVersion": _text(code.scheme_version),
            "CodeMeaning": code.meaning,
        }
        for code in codes
    ]


def worklist_values(item: WorklistItem, zone: tzinfo) -> Values:
    """The item's attribute values in DICOM string form, the step's start in `zone`."""
    step = item.scheduled_step
    local_start = step.start.astimezone(zone)
    step_values: Values = {
        "Modality": step.modality,
        "ScheduledStationAETitle": step.station_ae_title,
        "ScheduledProcedureStepStartDate": local_start.strftime("%Y%m%d"),
        "ScheduledProcedureStepStartTime": local_start.strftime("%H%M%S"),
        "ScheduledPerformingPhysicianName": _name(step.performing_physician),
        "ScheduledProcedureStepDescription": _text(step.description),
        "ScheduledProtocolCodeSequence": _codes(step.protocol_codes),
        "ScheduledProcedureStepID": step.step_id,
        "ScheduledStationName": _text(step.station_name),
        "ScheduledProcedureStepLocation": _text(step.location),
        "RequestedContrastAgent": _text(step.requested_contrast_agent),
        "ScheduledProcedureStepStatus": _text(step.status),
    }
    return {
        "AccessionNumber": item.accession_number,
        "ReferringPhysicianName": _name(item.referring_physician),
        "ReferencedStudySequence": [],
        "ReferencedPatientSequence": [],
        "PatientName": item.patient_name.dicom,
        "PatientID": item.patient_id,
        "IssuerOfPatientID": _text(item.issuer_of_patient_id),
        "PatientBirthDate": item.birth_date.strftime("%Y%m%d") if item.birth_date else None,
        "PatientSex": _text(item.sex),
        "PatientWeight": str(item.weight_kg) if item.weight_kg is not None else None,
        "MedicalAlerts": _multi(item.medical_alerts),
        "Allergies": _multi(item.allergies),
        "PregnancyStatus": int(item.pregnancy_status) if item.pregnancy_status is not None else None,
        "StudyInstanceUID": item.study_instance_uid,
        "RequestingPhysician": _name(item.requesting_physician),
        "RequestedProcedureDescription": _text(item.requested_procedure_description),
        "RequestedProcedureCodeSequence": _codes(item.requested_procedure_codes),
        "AdmissionID": _text(item.admission_id),
        "RouteOfAdmissions": _text(item.route_of_admissions),
        "CurrentPatientLocation": _text(item.current_patient_location),
        "ScheduledProcedureStepSequence": [step_values],
        "RequestedProcedureID": item.requested_procedure_id,
        "RequestedProcedurePriority": _text(item.requested_procedure_priority),
    }
