"""Domain objects as the REST API shows them."""

from __future__ import annotations

from typing import Any

from radflow.domain.order import Order
from radflow.domain.patient import Patient
from radflow.entrypoints.api.schemas import jsonable
from radflow.services.views import OrderDetail, PatientDetail


def patient_json(patient: Patient) -> dict[str, Any]:
    """A patient with identifiers and contacts."""
    return {
        "id": patient.id, "mrn": patient.mrn, "family_name": patient.family_name, "given_name": patient.given_name,
        "middle_name": patient.middle_name, "birth_date": patient.birth_date.isoformat(), "sex": patient.sex.value,
        "phone": patient.phone, "email": patient.email, "address_line": patient.address_line, "city": patient.city,
        "state": patient.state, "postal_code": patient.postal_code,
        "identifiers": [{"authority": i.authority, "value": i.value, "type_code": i.type_code}
                        for i in patient.identifiers],
        "probable_duplicate_ids": list(patient.probable_duplicate_ids), "merged_into_id": patient.merged_into_id,
    }


def order_json(order: Order, names: dict[str, str] | None = None) -> dict[str, Any]:
    """An order with its timeline (who, when, what)."""
    names = names or {}
    return {
        "id": order.id, "accession_number": order.accession_number, "patient_id": order.patient_id,
        "state": order.state.value, "track": order.track.value, "priority": order.priority.value,
        "protocol_code": order.protocol_code, "requested_modality": order.requested_modality,
        "contrast": order.contrast.value if order.contrast else None, "cpt_code": order.cpt_code,
        "body_part": order.body_part, "laterality": order.laterality.value if order.laterality else None,
        "reason_for_exam": order.reason_for_exam, "diagnosis_codes": list(order.diagnosis_codes),
        "clinical_notes": order.clinical_notes, "ordering_provider": {
            "npi": order.ordering_provider_npi, "name": order.ordering_provider_name},
        "copy_to": list(order.copy_to), "setting": order.setting.value, "coverage_id": order.coverage_id,
        "self_pay": order.self_pay, "special_instructions": order.special_instructions,
        "study_instance_uid": order.study_instance_uid, "placer_order_number": order.placer_order_number,
        "missing_items": list(order.missing_items), "received_at": order.received_at.isoformat(),
        "target_at": order.target_at.isoformat(), "cancel_reason": order.cancel_reason,
        "timeline": [
            {"seq": t.seq, "at": t.at.isoformat(), "by": t.by, "by_name": names.get(t.by, t.by), "event": t.event,
             "from_state": t.from_state, "to_state": t.to_state, "reason": t.reason, "details": jsonable(t.details)}
            for t in order.transitions
        ],
    }


def order_detail_json(detail: OrderDetail) -> dict[str, Any]:
    """An order with its patient, documents and authorization."""
    body = order_json(detail.order, detail.names)
    body["patient"] = patient_json(detail.patient)
    body["documents"] = [
        {"id": d.id, "filename": d.filename, "content_type": d.content_type, "sha256": d.sha256, "size": d.size,
         "kind": d.kind.value, "received_at": d.received_at.isoformat()} for d in detail.documents
    ]
    auth = detail.authorization
    body["authorization"] = None if auth is None else {
        "id": auth.id, "state": auth.state.value, "payer_id": auth.payer_id, "cpt_code": auth.cpt_code,
        "rule_id": auth.rule_id, "citation": auth.rule_citation, "assigned_to": auth.assigned_to,
        "payer_reference": auth.payer_reference, "authorization_number": auth.authorization_number,
        "valid_from": auth.valid_from.isoformat() if auth.valid_from else None,
        "valid_until": auth.valid_until.isoformat() if auth.valid_until else None,
        "denial_reason": auth.denial_reason, "log": jsonable(auth.log),
    }
    body["coverage"] = None if detail.coverage is None else jsonable(detail.coverage)
    return body


def patient_detail_json(detail: PatientDetail) -> dict[str, Any]:
    """A patient with coverages, visible orders and probable duplicates."""
    body = patient_json(detail.patient)
    body["coverages"] = [jsonable(c) for c in detail.coverages]
    body["orders"] = [{"id": o.id, "accession_number": o.accession_number, "state": o.state.value,
                       "protocol_code": o.protocol_code, "received_at": o.received_at.isoformat()}
                      for o in detail.orders]
    body["duplicates"] = [patient_json(d) for d in detail.duplicates]
    return body
