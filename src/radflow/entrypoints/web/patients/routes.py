"""Patient screens: search (with probable duplicates flagged), registration that shows probable
duplicates before creating a record, the patient's page, and merging two records of one person."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from radflow.bootstrap import Radflow
from radflow.domain.errors import ValidationError
from radflow.domain.patient import Patient
from radflow.domain.policy import Action
from radflow.domain.users import Principal
from radflow.entrypoints.api.deps import requires
from radflow.entrypoints.api.errors import status_for
from radflow.entrypoints.web.error_pages import ScreenRoute
from radflow.entrypoints.web.forms import FORM_ERRORS, FormError, FormFields, PostedForm
from radflow.entrypoints.web.queries import FindProbableDuplicates, ScreenApp
from radflow.entrypoints.web.rendering import render, see_other
from radflow.services.patients import MergePatients, RegisteredPatient, RegisterPatient
from radflow.services.views import GetPatient, PatientDetail, PatientRow, SearchPatients

router = APIRouter(route_class=ScreenRoute)

SEX_OPTIONS = [("F", "Female"), ("M", "Male"), ("O", "Other"), ("U", "Unknown")]


def _search_date(raw: str) -> date | None:
    if not raw.strip():
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise ValidationError(f"'{raw}' is not a date; use YYYY-MM-DD", field="birth_date") from None


def search_rows(radflow: Radflow, actor: Principal, q: str, birth_date: str) -> list[PatientRow] | None:
    """Search results, or None when nothing was asked yet."""
    born = _search_date(birth_date)
    if not q.strip() and born is None:
        return None
    rows: list[PatientRow] = radflow.bus.handle(SearchPatients(actor=actor, text=q, birth_date=born, limit=50))
    return rows


@router.get("/patients")
def patient_search(request: Request, radflow: ScreenApp, actor: Annotated[Principal, requires(Action.PATIENT_SEARCH)],
                   q: str = "", birth_date: str = "", pick: str = "") -> Response:
    """Find a patient by name, MRN, identifier or phone (and birth date); duplicates are flagged."""
    rows = search_rows(radflow, actor, q, birth_date)
    template = "patients/results.html" if request.headers.get("HX-Request") else "patients/search.html"
    # pick=referral: the search is step one of a new referral, and each hit starts it for that patient.
    return render(request, actor, template, rows=rows, q=q, birth_date=birth_date,
                  pick="referral" if pick == "referral" else "")


def _registration(request: Request, actor: Principal, *, values: dict[str, str], then: str,
                  duplicates: list[Patient] | None = None, error: FormError | None = None,
                  status_code: int = 200) -> Response:
    return render(request, actor, "patients/register.html", status_code=status_code, values=values, then=then,
                  duplicates=duplicates or [], error=error, sex_options=SEX_OPTIONS)


def _after_registration(patient_id: str, then: str) -> str:
    if then == "referral":
        return "/intake/referrals/new?" + urlencode({"patient_id": patient_id})
    return f"/patients/{patient_id}"


@router.get("/patients/new")
def registration_form(request: Request, actor: Annotated[Principal, requires(Action.PATIENT_WRITE)],
                      then: str = "", family_name: str = "", given_name: str = "") -> Response:
    """Register a patient (after searching for them first)."""
    return _registration(request, actor, values={"family_name": family_name, "given_name": given_name}, then=then)


@router.post("/patients/new")
def register(request: Request, radflow: ScreenApp, form: PostedForm,
             actor: Annotated[Principal, requires(Action.PATIENT_WRITE)]) -> Response:
    """Create the record; probable duplicates are shown first and need a deliberate 'register anyway'."""
    fields = FormFields(form)
    then = fields.text("then")
    try:
        birth_date = fields.day("birth_date")
        if birth_date is None:
            raise ValidationError("enter the birth date", field="birth_date")
        if not fields.flag("confirmed_new"):
            duplicates: list[Patient] = radflow.bus.handle(FindProbableDuplicates(
                actor=actor, family_name=fields.text("family_name"), given_name=fields.text("given_name"),
                birth_date=birth_date, phone=fields.text("phone")))
            if duplicates:
                return _registration(request, actor, values=fields.values(), then=then, duplicates=duplicates)
        result: RegisteredPatient = radflow.bus.handle(RegisterPatient(
            actor=actor, family_name=fields.text("family_name"), given_name=fields.text("given_name"),
            middle_name=fields.text("middle_name"), birth_date=birth_date, sex=fields.text("sex") or "U",
            phone=fields.text("phone"), email=fields.text("email"), address_line=fields.text("address_line"),
            city=fields.text("city"), state=fields.text("state"), postal_code=fields.text("postal_code")))
    except FORM_ERRORS as refused:
        return _registration(request, actor, values=fields.values(), then=then, error=FormError.of(refused),
                             status_code=status_for(refused))
    return see_other(_after_registration(result.patient_id, then))


@router.get("/patients/{patient_id}")
def patient_page(patient_id: str, request: Request, radflow: ScreenApp,
                 actor: Annotated[Principal, requires(Action.PATIENT_READ)]) -> Response:
    """A patient: identifiers, contacts, coverage, orders, and probable duplicates to merge."""
    return _patient(request, radflow, actor, patient_id)


def _patient(request: Request, radflow: Radflow, actor: Principal, patient_id: str, *,
             error: FormError | None = None, status_code: int = 200) -> Response:
    detail: PatientDetail = radflow.bus.handle(GetPatient(actor=actor, patient_id=patient_id))
    payers = {c.payer_id: (radflow.catalog.payers[c.payer_id].name if c.payer_id in radflow.catalog.payers
                           else c.payer_id) for c in detail.coverages}
    return render(request, actor, "patients/detail.html", status_code=status_code, detail=detail,
                  patient=detail.patient, payers=payers, error=error)


@router.post("/patients/{patient_id}/merge")
def merge(patient_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
          actor: Annotated[Principal, requires(Action.PATIENT_MERGE)]) -> Response:
    """Fold a duplicate record into this one (same person): its identifiers, orders and coverage move here."""
    fields = FormFields(form)
    try:
        if not fields.flag("confirmed_same_person"):
            raise ValidationError("tick the box to confirm that both records are the same person",
                                  field="confirmed_same_person")
        radflow.bus.handle(MergePatients(actor=actor, survivor_id=patient_id, merged_id=fields.text("merged_id")))
    except FORM_ERRORS as refused:
        return _patient(request, radflow, actor, patient_id, error=FormError.of(refused),
                        status_code=status_for(refused))
    return see_other(f"/patients/{patient_id}")
