"""The new-referral form: find or register the patient, then coverage (or self-pay), the order lines
from the catalog, the ordering provider, and the faxed referral itself.

One referral becomes one `ReceiveReferral` command: every order line is checked for completeness and
routed before the service commits, so the order detail the user lands on already says where each
order went (awaiting documentation with what is missing, awaiting protocol, pending authorization…).
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import Response

from radflow.bootstrap import Radflow
from radflow.domain.errors import ValidationError
from radflow.domain.policy import Action
from radflow.domain.users import Principal
from radflow.entrypoints.api.deps import requires
from radflow.entrypoints.api.errors import status_for
from radflow.entrypoints.web import choices
from radflow.entrypoints.web.error_pages import ScreenRoute
from radflow.entrypoints.web.forms import FORM_ERRORS, FormError, FormFields, PostedForm
from radflow.entrypoints.web.intake.referral_form import (
    LINE_FIELDS,
    coverage_choice,
    line_indices,
    order_lines,
    referral_upload,
)
from radflow.entrypoints.web.patients.routes import search_rows
from radflow.entrypoints.web.queries import ScreenApp
from radflow.entrypoints.web.rendering import render, see_other
from radflow.services.documents import AttachDocument
from radflow.services.orders import ReceivedReferral, ReceiveReferral
from radflow.services.patients import AddCoverage
from radflow.services.views import GetPatient, PatientDetail

router = APIRouter(route_class=ScreenRoute)

MAX_LINES: Final = 10


def _line_context(radflow: Radflow) -> dict[str, Any]:
    return {"protocol_groups": choices.protocol_groups(radflow.catalog), "contrast_options": choices.contrast_options(),
            "laterality_options": choices.laterality_options(), "priority_options": choices.priority_options(),
            "setting_options": choices.setting_options()}


def _form(request: Request, radflow: Radflow, actor: Principal, patient: PatientDetail, *, values: dict[str, str],
          indices: list[int], error: FormError | None = None, status_code: int = 200) -> Response:
    payers = {p.id: p.name for p in radflow.catalog.payers.values()}
    coverages = [(c.id, f"{payers.get(c.payer_id, c.payer_id)} · member {c.member_id}")
                 for c in patient.coverages if c.active]
    return render(request, actor, "intake/referral.html", status_code=status_code, patient=patient.patient,
                  duplicates=patient.duplicates, coverages=coverages, values=values, indices=indices, error=error,
                  payer_options=choices.payer_options(radflow.catalog.payers.values()),
                  channel_options=choices.channel_options(), next_index=max(indices) + 1, **_line_context(radflow))


@router.get("/intake/referrals/new")
def new_referral(request: Request, radflow: ScreenApp, actor: Annotated[Principal, requires(Action.ORDER_CREATE)],
                 patient_id: str = "", q: str = "", birth_date: str = "") -> Response:
    """Step one: find (or register) the patient. Step two, with the patient chosen: the referral form."""
    if not patient_id:
        rows = search_rows(radflow, actor, q, birth_date)
        return render(request, actor, "intake/choose_patient.html", rows=rows, q=q, birth_date=birth_date,
                      pick="referral")
    patient: PatientDetail = radflow.bus.handle(GetPatient(actor=actor, patient_id=patient_id))
    values = {"channel": "fax", "coverage_choice": patient.coverages[0].id if patient.coverages else "",
              "lines-0-priority": "routine", "lines-0-setting": "outpatient"}
    return _form(request, radflow, actor, patient, values=values, indices=[0])


@router.get("/intake/referrals/line")
def extra_line(request: Request, radflow: ScreenApp, actor: Annotated[Principal, requires(Action.ORDER_CREATE)],
               index: int = 1) -> Response:
    """One more exam on the referral (htmx appends it to the form)."""
    if not 0 < index < MAX_LINES:
        raise ValidationError(f"a referral holds at most {MAX_LINES} exams; enter the rest as a second referral",
                              field="lines")
    return render(request, actor, "intake/line.html", index=index, values={f"lines-{index}-priority": "routine",
                  f"lines-{index}-setting": "outpatient"}, error=None, next_index=index + 1, oob=True,
                  **_line_context(radflow))


def _line_error(error: FormError, indices: list[int]) -> FormError:
    """With one exam on the form, an error about an order field belongs beside that exam's field."""
    if len(indices) == 1 and error.field in LINE_FIELDS:
        return FormError(error.message, f"lines-{indices[0]}-{error.field}")
    return error


@router.post("/intake/referrals/new")
def receive_referral(request: Request, radflow: ScreenApp, form: PostedForm,
                     actor: Annotated[Principal, requires(Action.ORDER_CREATE)]) -> Response:
    """Record the referral: coverage first (when new), then the orders, then the faxed referral on each."""
    fields = FormFields(form)
    patient_id = fields.text("patient_id")
    indices = line_indices(fields, MAX_LINES)
    try:
        upload = referral_upload(fields)  # checked before anything is written
        choice = coverage_choice(fields)
        coverage_id = choice.coverage_id
        if choice.new_payer_id:
            coverage_id = radflow.bus.handle(AddCoverage(
                actor=actor, patient_id=patient_id, payer_id=choice.new_payer_id, member_id=fields.text("member_id"),
                group_number=fields.text("group_number")))
        received: ReceivedReferral = radflow.bus.handle(ReceiveReferral(
            actor=actor, patient_id=patient_id, channel=fields.text("channel") or "fax",
            lines=order_lines(fields, indices, coverage_id=coverage_id, self_pay=choice.self_pay),
            source_organization=fields.text("source_organization"),
            source_provider_name=fields.text("ordering_provider_name"),
            source_provider_npi=fields.text("ordering_provider_npi"), reply_fax=fields.text("reply_fax"),
            reply_email=fields.text("reply_email"), reply_phone=fields.text("reply_phone"),
            notes=fields.text("notes")))
    except FORM_ERRORS as refused:
        patient: PatientDetail = radflow.bus.handle(GetPatient(actor=actor, patient_id=patient_id))
        return _form(request, radflow, actor, patient, values=fields.values(), indices=indices,
                     error=_line_error(FormError.of(refused), indices), status_code=status_for(refused))
    if upload is not None:
        filename, content_type, content = upload
        for order_id in received.order_ids:
            radflow.bus.handle(AttachDocument(
                actor=actor, patient_id=patient_id, referral_id=received.referral_id, order_id=order_id,
                filename=filename, content_type=content_type, content=content, kind="referral",
                description="referral as received"))
    if len(received.order_ids) == 1:
        return see_other(f"/orders/{received.order_ids[0]}")
    return see_other(f"/patients/{patient_id}")
