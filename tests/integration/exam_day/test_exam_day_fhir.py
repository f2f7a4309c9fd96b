"""FHIR R4: a patient app submits screening answers as a QuestionnaireResponse; an order's study is an ImagingStudy."""

from __future__ import annotations

import pytest
from exam_day_world import accession_of, add_order, add_patient, book, ny
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.imagingstudy import ImagingStudy
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from radflow.bootstrap import Radflow
from radflow.domain.study import StepStatus
from radflow.domain.users import Principal, Role
from radflow.entrypoints.api.app import create_app
from radflow.services.exam_day.performed_steps import RecordPerformedStep, StepReport
from radflow_test_support import UserFactory, backends

pytestmark = pytest.mark.parametrize("test_settings", backends(), indirect=True)
FHIR = {"Content-Type": "application/fhir+json"}


def test_a_patients_answers_are_a_questionnaire_response_that_never_clears_an_mri_alone(
        center: Radflow, make_user: UserFactory) -> None:
    patient_id = add_patient(center)
    order_id = add_order(center, "MR-BRAIN", patient_id)
    book(center, order_id, "MR1", ny(3, 10))
    patient = make_user("patient", patient_id=patient_id)
    client = TestClient(create_app(center))
    body = {"resourceType": "QuestionnaireResponse", "status": "completed",
            "basedOn": [{"reference": f"ServiceRequest/{order_id}"}],
            "item": [{"linkId": "mri.cardiac_device", "answer": [{"valueCoding": {"code": "none"}}]},
                     {"linkId": "mri.tattoos", "answer": [{"valueBoolean": False}]},
                     {"linkId": "body.weight_kg", "answer": [{"valueDecimal": 72}]}]}
    created = client.post("/fhir/QuestionnaireResponse", json=body, headers={**patient.headers, **FHIR})
    assert created.status_code == 201, created.text
    response = QuestionnaireResponse.model_validate(created.json())
    assert response.extension[0].valueCode == "patient_online"
    assert response.source.reference == f"Patient/{patient_id}"

    found = client.get(f"/fhir/QuestionnaireResponse?subject=Patient/{patient_id}", headers=patient.headers)
    bundle = Bundle.model_validate(found.json())
    assert bundle.total == 1
    screening = client.get(f"/api/orders/{order_id}/screening", headers=patient.headers).json()
    assert screening["state"] != "clear"  # online answers alone never clear an MRI patient


def test_a_performed_exam_is_an_imaging_study_with_its_accession(center: Radflow, make_user: UserFactory) -> None:
    order_id = add_order(center, "MR-BRAIN", add_patient(center))
    book(center, order_id, "MR1", ny(2, 10))
    accession = accession_of(center, order_id)
    dicom = Principal.system("dicom", role=Role.INTEGRATION)
    report = StepReport(sop_instance_uid="1.2.3.77", status=StepStatus.IN_PROGRESS, calling_ae="MR1",
                        station_ae_title="MR1", modality="MR", accession_numbers=(accession,))
    center.bus.handle(RecordPerformedStep(actor=dicom, report=report, created=True))
    tech = make_user("technologist")
    client = TestClient(create_app(center))
    answer = client.get(f"/fhir/ImagingStudy/{order_id}", headers=tech.headers)
    assert answer.status_code == 200, answer.text
    study = ImagingStudy.model_validate(answer.json())
    assert study.status == "registered"
    assert any(i.value == accession for i in study.identifier)
    search = client.get(f"/fhir/ImagingStudy?basedon=ServiceRequest/{order_id}", headers=tech.headers)
    assert search.json()["total"] == 1
