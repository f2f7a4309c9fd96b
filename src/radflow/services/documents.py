"""Documents: uploads on a referral or order, and faxed pages picked up from a watched folder."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from radflow.domain.errors import Conflict, ValidationError
from radflow.domain.ids import new_id
from radflow.domain.policy import AccessTarget, Action
from radflow.domain.referral import Document, DocumentKind, DocumentSource
from radflow.domain.users import Principal
from radflow.services.access import guard, guard_order
from radflow.services.audit import record_access
from radflow.services.bus import Handler
from radflow.services.context import ServiceContext
from radflow.services.orders import parse_enum
from radflow.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class AttachDocument:
    """Store a file on a referral or order (an upload, a faxed page, a payer letter)."""

    actor: Principal
    patient_id: str
    filename: str
    content_type: str
    content: bytes = field(repr=False)
    kind: str = "other"
    source: str = "upload"
    referral_id: str | None = None
    order_id: str | None = None
    description: str = ""


MAX_DOCUMENT_BYTES = 25 * 1024 * 1024


def store_content(uow: UnitOfWork, content: bytes) -> str:
    """Check size, store the bytes once under their SHA-256, and return the digest."""
    if not content:
        raise ValidationError("the file is empty", field="content")
    if len(content) > MAX_DOCUMENT_BYTES:
        raise ValidationError(f"the file is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB", field="content")
    digest = hashlib.sha256(content).hexdigest()
    uow.documents.put_content(digest, content)
    return digest


def attach_document_in(uow: UnitOfWork, ctx: ServiceContext, cmd: AttachDocument) -> str:
    """Store the content once under its SHA-256 and record the document (inside a unit of work)."""
    order = uow.orders.get(cmd.order_id) if cmd.order_id else None
    if order is not None:
        guard_order(cmd.actor, Action.DOCUMENT_UPLOAD, order)
        if order.patient_id != cmd.patient_id:
            raise ValidationError("that order belongs to another patient", field="order_id")
    else:
        guard(cmd.actor, Action.DOCUMENT_UPLOAD, AccessTarget(patient_id=cmd.patient_id),
              object_type="patient", object_id=cmd.patient_id)
    uow.patients.get(cmd.patient_id)
    digest = store_content(uow, cmd.content)
    document = Document(
        id=new_id(), patient_id=cmd.patient_id, filename=cmd.filename.strip() or "document",
        content_type=cmd.content_type or "application/octet-stream", sha256=digest, size=len(cmd.content),
        kind=parse_enum(DocumentKind, cmd.kind, "kind") or DocumentKind.OTHER,
        source=parse_enum(DocumentSource, cmd.source, "source") or DocumentSource.UPLOAD,
        received_at=ctx.clock.now(), received_by=cmd.actor.user_id, referral_id=cmd.referral_id,
        order_id=cmd.order_id, description=cmd.description.strip(),
    )
    uow.documents.add(document)
    if order is not None:
        order.note("document_attached", by=cmd.actor.user_id, at=document.received_at,
                   details={"document_id": document.id, "filename": document.filename, "kind": document.kind.value})
    record_access(uow, ctx, cmd.actor, "document.create", patient_id=cmd.patient_id, object_type="document",
                  object_id=document.id, detail=f"{document.filename} sha256={digest[:16]}")
    return document.id


def attach_document(cmd: AttachDocument, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Attach a document; the content is checksummed and stored once."""
    with uow:
        document_id = attach_document_in(uow, ctx, cmd)
        uow.commit()
        return document_id


@dataclass(frozen=True)
class IngestFax:
    """A faxed page set arrived in the watched folder; it waits in the fax inbox to be filed."""

    actor: Principal
    filename: str
    content_type: str
    content: bytes = field(repr=False)


def ingest_fax(cmd: IngestFax, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Store a faxed file once (a file seen before is not stored twice) and return its document id."""
    with uow:
        digest = hashlib.sha256(cmd.content).hexdigest()
        for existing in uow.documents.by_checksum(digest):
            if existing.source is DocumentSource.FAX_FOLDER:
                return existing.id
        store_content(uow, cmd.content)
        document = Document(
            id=new_id(), patient_id=None, filename=cmd.filename, content_type=cmd.content_type, sha256=digest,
            size=len(cmd.content), kind=DocumentKind.REFERRAL, source=DocumentSource.FAX_FOLDER,
            received_at=ctx.clock.now(), received_by=cmd.actor.user_id,
        )
        uow.documents.add(document)
        record_access(uow, ctx, cmd.actor, "document.ingest", object_type="document", object_id=document.id,
                      detail=f"fax {cmd.filename}")
        uow.commit()
        return document.id


@dataclass(frozen=True)
class FileDocument:
    """Intake files an inbox document to a patient (and optionally a referral or order)."""

    actor: Principal
    document_id: str
    patient_id: str
    referral_id: str | None = None
    order_id: str | None = None
    kind: str = "referral"


def file_document(cmd: FileDocument, uow: UnitOfWork, ctx: ServiceContext) -> str:
    """Attach an unfiled document to its patient."""
    with uow:
        document = uow.documents.get(cmd.document_id)
        guard(cmd.actor, Action.DOCUMENT_UPLOAD, AccessTarget(patient_id=cmd.patient_id), object_type="document",
              object_id=document.id)
        if document.patient_id is not None and document.patient_id != cmd.patient_id:
            raise Conflict("that document is already filed to another patient")
        uow.patients.get(cmd.patient_id)
        if cmd.order_id:
            order = uow.orders.get(cmd.order_id)
            if order.patient_id != cmd.patient_id:
                raise ValidationError("that order belongs to another patient", field="order_id")
            order.note("document_attached", by=cmd.actor.user_id, at=ctx.clock.now(),
                       details={"document_id": document.id, "filename": document.filename})
        document.patient_id, document.referral_id, document.order_id = cmd.patient_id, cmd.referral_id, cmd.order_id
        document.kind = parse_enum(DocumentKind, cmd.kind, "kind") or DocumentKind.REFERRAL
        record_access(uow, ctx, cmd.actor, "document.file", patient_id=cmd.patient_id, object_type="document",
                      object_id=document.id)
        uow.commit()
        return document.id


HANDLERS: dict[type, Handler] = {AttachDocument: attach_document, IngestFax: ingest_fax, FileDocument: file_document}
