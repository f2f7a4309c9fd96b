"""Order screens: the order list, the order detail, documentation supplied, cancellation, documents."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from radflow.domain.errors import ValidationError
from radflow.domain.lifecycle import OrderState
from radflow.domain.policy import Action
from radflow.domain.referral import Document
from radflow.domain.users import Principal
from radflow.entrypoints.api.deps import requires
from radflow.entrypoints.api.errors import status_for
from radflow.entrypoints.web.choices import state_options
from radflow.entrypoints.web.error_pages import ScreenRoute
from radflow.entrypoints.web.forms import FORM_ERRORS, FormError, FormFields, PostedForm
from radflow.entrypoints.web.orders.detail import render_order
from radflow.entrypoints.web.queries import ScreenApp
from radflow.entrypoints.web.rendering import render, see_other
from radflow.services.documents import AttachDocument
from radflow.services.order_changes import CancelOrder, SupplyDocumentation
from radflow.services.views import GetDocument, GetOrder, ListOrders, OrderDetail, OrderFilter, OrderList

router = APIRouter(route_class=ScreenRoute)

#: Content types a browser may show inline; anything else is downloaded, so that an uploaded HTML or
#: SVG file can never run as a page of this site (stored cross-site scripting).
INLINE_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg", "image/gif", "image/tiff", "text/plain"})


@router.get("/orders")
def order_list(request: Request, radflow: ScreenApp, actor: Annotated[Principal, requires(Action.ORDER_READ)],
               state: str = "", modality: str = "", accession: str = "") -> Response:
    """Orders the user may see, filtered by state, modality or accession number; oldest target first."""
    known = {s.value for s in OrderState}
    if state and state not in known:
        raise ValidationError(f"'{state}' is not an order state", field="state")
    result: OrderList = radflow.bus.handle(ListOrders(actor=actor, query=OrderFilter(
        states=(state,) if state else (), modality=modality.upper(), accession_number=accession.strip(), limit=200)))
    modalities = sorted({p.modality.value for p in radflow.catalog})
    return render(request, actor, "orders/list.html", rows=result.rows, total=result.total, state=state,
                  modality=modality.upper(), accession=accession, state_options=state_options(),
                  modalities=modalities)


@router.get("/orders/{order_id}")
def order_detail(order_id: str, request: Request, radflow: ScreenApp,
                 actor: Annotated[Principal, requires(Action.ORDER_READ)]) -> Response:
    """One order: details, timeline (who, when, why), documents, authorization and the allowed actions."""
    return render_order(request, radflow, actor, order_id)


@router.post("/orders/{order_id}/documentation")
def supply_documentation(order_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
                         actor: Annotated[Principal, requires(Action.ORDER_UPDATE)]) -> Response:
    """What the referrer sent back; an order awaiting documentation is checked again at once."""
    fields = FormFields(form)
    coverage = fields.optional("coverage_id")
    try:
        radflow.bus.handle(SupplyDocumentation(
            actor=actor, order_id=order_id, diagnosis_codes=fields.codes("diagnosis_codes") or None,
            reason_for_exam=fields.optional("reason_for_exam"), contrast=fields.optional("contrast"),
            laterality=fields.optional("laterality"), ordering_provider_npi=fields.optional("ordering_provider_npi"),
            ordering_provider_name=fields.optional("ordering_provider_name"),
            coverage_id=coverage if coverage and coverage != "self_pay" else None,
            self_pay=True if coverage == "self_pay" else None,
            clinical_notes=fields.optional("clinical_notes"), note=fields.text("note")))
    except FORM_ERRORS as refused:
        return render_order(request, radflow, actor, order_id, error=FormError.of(refused), form="documentation",
                            values=fields.values(), status_code=status_for(refused))
    return see_other(f"/orders/{order_id}#timeline")


@router.post("/orders/{order_id}/cancel")
def cancel_order(order_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
                 actor: Annotated[Principal, requires(Action.ORDER_CANCEL)]) -> Response:
    """Withdraw the order before its exam starts, with the reason."""
    fields = FormFields(form)
    try:
        radflow.bus.handle(CancelOrder(actor=actor, order_id=order_id, reason=fields.text("reason")))
    except FORM_ERRORS as refused:
        return render_order(request, radflow, actor, order_id, error=FormError.of(refused), form="cancel",
                            values=fields.values(), status_code=status_for(refused))
    return see_other(f"/orders/{order_id}")


@router.post("/orders/{order_id}/documents")
def upload_document(order_id: str, request: Request, radflow: ScreenApp, form: PostedForm,
                    actor: Annotated[Principal, requires(Action.DOCUMENT_UPLOAD)]) -> Response:
    """Attach a file to the order (stored once, with its SHA-256)."""
    fields = FormFields(form)
    upload = fields.upload("file")
    try:
        if upload is None:
            raise ValidationError("choose a file to upload", field="file")
        detail: OrderDetail = radflow.bus.handle(GetOrder(actor=actor, order_id=order_id))
        order = detail.order
        radflow.bus.handle(AttachDocument(
            actor=actor, patient_id=order.patient_id, order_id=order_id, filename=upload.filename or "upload",
            content_type=upload.content_type or "application/octet-stream", content=upload.file.read(),
            kind=fields.text("kind") or "other", description=fields.text("description")))
    except FORM_ERRORS as refused:
        return render_order(request, radflow, actor, order_id, error=FormError.of(refused), form="upload",
                            values=fields.values(), status_code=status_for(refused))
    return see_other(f"/orders/{order_id}#documents")


@router.get("/documents/{document_id}")
def view_document(document_id: str, radflow: ScreenApp, actor: Annotated[Principal, requires(Action.DOCUMENT_READ)],
                  download: str = "") -> Response:
    """A stored document: shown in the browser when it is a PDF, image or text; otherwise downloaded."""
    found: tuple[Document, bytes] = radflow.bus.handle(GetDocument(actor=actor, document_id=document_id))
    document, content = found
    safe_name = "".join(c for c in document.filename if c.isalnum() or c in "._- ") or "document"
    content_type = document.content_type.split(";")[0].strip().lower()
    inline = not download and content_type in INLINE_TYPES
    media_type = "text/plain; charset=utf-8" if content_type == "text/plain" else (
        content_type if inline else "application/octet-stream")
    headers = {"Content-Disposition": f'{"inline" if inline else "attachment"}; filename="{safe_name}"',
               "X-Content-SHA256": document.sha256, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
    if content_type != "application/pdf":
        # An image or text shown inline runs nothing and reaches nothing of this origin. (A sandbox would
        # also stop the browser's own PDF viewer, which runs a PDF outside this origin anyway.)
        headers["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    return Response(content, media_type=media_type, headers=headers)
