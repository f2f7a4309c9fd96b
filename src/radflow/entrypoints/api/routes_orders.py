"""REST routes: orders, documentation, protocoling, authorization, documents, cancellation."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import Response

from radflow.domain.policy import Action
from radflow.domain.referral import Document
from radflow.domain.users import Principal
from radflow.entrypoints.api.deps import App, requires
from radflow.entrypoints.api.schemas import (
    ApproveIn,
    AssignIn,
    DocumentationIn,
    FileDocumentIn,
    MoreDocumentationIn,
    ProtocolIn,
    ReasonIn,
    ResubmitIn,
    SubmitIn,
    SubstituteIn,
    jsonable,
)
from radflow.entrypoints.api.serialize import order_detail_json
from radflow.services import authorizations as auth
from radflow.services.documents import AttachDocument, FileDocument
from radflow.services.order_changes import AssignProtocol, CancelOrder, SupplyDocumentation
from radflow.services.views import GetDocument, GetOrder, ListOrders, OrderDetail, OrderFilter, OrderList

router = APIRouter(tags=["orders"])


def _detail(radflow: App, actor: Principal, order_id: str) -> dict[str, Any]:
    return order_detail_json(radflow.bus.handle(GetOrder(actor=actor, order_id=order_id)))


@router.get("/orders")
def list_orders(
    radflow: App, actor: Annotated[Principal, requires(Action.ORDER_READ)],
    state: Annotated[list[str] | None, Query()] = None, modality: str = "", patient_id: str = "",
    accession_number: str = "", received_from: datetime | None = None, received_to: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100, offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Orders the caller may see (a referrer: their own; a patient: theirs), oldest target first."""
    result: OrderList = radflow.bus.handle(ListOrders(actor=actor, query=OrderFilter(
        states=tuple(state or ()), modality=modality, patient_id=patient_id, accession_number=accession_number,
        received_from=received_from, received_to=received_to, limit=limit, offset=offset)))
    return {"total": result.total, "orders": jsonable(result.rows)}


@router.get("/orders/{order_id}")
def read_order(order_id: str, radflow: App, actor: Annotated[Principal, requires(Action.ORDER_READ)]) -> dict[str, Any]:
    """An order with its timeline (every state change, who, when), documents and authorization."""
    return _detail(radflow, actor, order_id)


@router.post("/orders/{order_id}/documentation")
def supply_documentation(order_id: str, body: DocumentationIn, radflow: App,
                         actor: Annotated[Principal, requires(Action.ORDER_UPDATE)]) -> dict[str, Any]:
    """Record what the referrer sent; an order awaiting documentation is checked again."""
    data = body.model_dump()
    codes = data.pop("diagnosis_codes")
    radflow.bus.handle(SupplyDocumentation(actor=actor, order_id=order_id,
                                           diagnosis_codes=tuple(codes) if codes is not None else None, **data))
    return _detail(radflow, actor, order_id)


@router.post("/orders/{order_id}/protocol")
def assign_protocol(order_id: str, body: ProtocolIn, radflow: App,
                    actor: Annotated[Principal, requires(Action.ORDER_PROTOCOL)]) -> dict[str, Any]:
    """Protocol the exam (radiologist or lead technologist)."""
    radflow.bus.handle(AssignProtocol(actor=actor, order_id=order_id, **body.model_dump()))
    return _detail(radflow, actor, order_id)


@router.post("/orders/{order_id}/cancel")
def cancel_order(order_id: str, body: ReasonIn, radflow: App,
                 actor: Annotated[Principal, requires(Action.ORDER_CANCEL)]) -> dict[str, Any]:
    """Cancel an order before its exam starts."""
    radflow.bus.handle(CancelOrder(actor=actor, order_id=order_id, reason=body.reason))
    return _detail(radflow, actor, order_id)


@router.post("/orders/{order_id}/substitute")
def substitute_study(order_id: str, body: SubstituteIn, radflow: App,
                     actor: Annotated[Principal, requires(Action.ORDER_UPDATE)]) -> dict[str, Any]:
    """Replace the study with an allowed substitute; the order is checked and routed again."""
    radflow.bus.handle(auth.SubstituteStudy(actor=actor, order_id=order_id, **body.model_dump()))
    return _detail(radflow, actor, order_id)


@router.post("/orders/{order_id}/authorization/submit")
def submit_authorization(order_id: str, body: SubmitIn, radflow: App,
                         actor: Annotated[Principal, requires(Action.AUTHORIZATION_MANAGE)]) -> dict[str, Any]:
    """The request went to the payer."""
    radflow.bus.handle(auth.SubmitAuthorization(actor=actor, order_id=order_id, payer_reference=body.payer_reference))
    return _detail(radflow, actor, order_id)


@router.post("/orders/{order_id}/authorization/approve")
def approve_authorization(order_id: str, body: ApproveIn, radflow: App,
                          actor: Annotated[Principal, requires(Action.AUTHORIZATION_MANAGE)]) -> dict[str, Any]:
    """The payer approved; the order becomes ready to schedule."""
    radflow.bus.handle(auth.ApproveAuthorization(actor=actor, order_id=order_id, **body.model_dump()))
    return _detail(radflow, actor, order_id)


@router.post("/orders/{order_id}/authorization/deny")
def deny_authorization(order_id: str, body: ReasonIn, radflow: App,
                       actor: Annotated[Principal, requires(Action.AUTHORIZATION_MANAGE)]) -> dict[str, Any]:
    """The payer denied."""
    radflow.bus.handle(auth.DenyAuthorization(actor=actor, order_id=order_id, reason=body.reason))
    return _detail(radflow, actor, order_id)


@router.post("/orders/{order_id}/authorization/request-documentation")
def request_documentation(order_id: str, body: MoreDocumentationIn, radflow: App,
                          actor: Annotated[Principal, requires(Action.AUTHORIZATION_MANAGE)]) -> dict[str, Any]:
    """The payer wants more documentation; the referrer is asked for it."""
    radflow.bus.handle(auth.RequestMoreDocumentation(actor=actor, order_id=order_id, what=body.what))
    return _detail(radflow, actor, order_id)


@router.post("/orders/{order_id}/authorization/resubmit")
def resubmit_authorization(order_id: str, body: ResubmitIn, radflow: App,
                           actor: Annotated[Principal, requires(Action.AUTHORIZATION_MANAGE)]) -> dict[str, Any]:
    """Appeal a denial with more documentation."""
    radflow.bus.handle(auth.ResubmitAuthorization(actor=actor, order_id=order_id, **body.model_dump()))
    return _detail(radflow, actor, order_id)


@router.post("/orders/{order_id}/authorization/assign")
def assign_authorization(order_id: str, body: AssignIn, radflow: App,
                         actor: Annotated[Principal, requires(Action.AUTHORIZATION_MANAGE)]) -> dict[str, Any]:
    """Give the request to a coordinator."""
    radflow.bus.handle(auth.AssignAuthorization(actor=actor, order_id=order_id, assignee_id=body.assignee_id))
    return _detail(radflow, actor, order_id)


@router.post("/orders/{order_id}/documents", status_code=201)
async def upload_document(
    order_id: str, radflow: App, actor: Annotated[Principal, requires(Action.DOCUMENT_UPLOAD)],
    file: Annotated[UploadFile, File()], kind: Annotated[str, Form()] = "other",
    description: Annotated[str, Form()] = "",
) -> dict[str, Any]:
    """Attach a file to an order (stored once, with its SHA-256)."""
    from starlette.concurrency import run_in_threadpool

    content = await file.read()
    detail: OrderDetail = await run_in_threadpool(radflow.bus.handle, GetOrder(actor=actor, order_id=order_id))
    document_id: str = await run_in_threadpool(radflow.bus.handle, AttachDocument(
        actor=actor, patient_id=detail.order.patient_id, order_id=order_id, filename=file.filename or "upload",
        content_type=file.content_type or "application/octet-stream", content=content, kind=kind,
        description=description))
    return {"document_id": document_id}


@router.get("/documents/{document_id}")
def download_document(document_id: str, radflow: App,
                      actor: Annotated[Principal, requires(Action.DOCUMENT_READ)]) -> Response:
    """The stored file, with its checksum in a header."""
    document: Document
    content: bytes
    document, content = radflow.bus.handle(GetDocument(actor=actor, document_id=document_id))
    safe_name = "".join(c for c in document.filename if c.isalnum() or c in "._- ") or "document"
    # Only types a browser shows without running anything are shown inline; anything else (an uploaded
    # HTML page, an SVG with script) is a download, sandboxed and never sniffed: no stored XSS.
    inline = document.content_type in INLINE_TYPES
    return Response(content, media_type=document.content_type if inline else "application/octet-stream", headers={
        "Content-Disposition": f'{"inline" if inline else "attachment"}; filename="{safe_name}"',
        "X-Content-SHA256": document.sha256, "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'"})


INLINE_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg", "image/tiff", "image/gif", "text/plain"})


@router.post("/documents/{document_id}/file")
def file_document(document_id: str, body: FileDocumentIn, radflow: App,
                  actor: Annotated[Principal, requires(Action.DOCUMENT_UPLOAD)]) -> dict[str, Any]:
    """File an inbox document (a faxed referral) to its patient."""
    radflow.bus.handle(FileDocument(actor=actor, document_id=document_id, **body.model_dump()))
    return {"document_id": document_id, "patient_id": body.patient_id}
