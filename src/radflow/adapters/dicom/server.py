"""radflow's DICOM SCP: Verification, Modality Worklist C-FIND and MPPS on one AE.

`DicomServer(config, worklist, mpps=...)` binds one pynetdicom AE to a host, port and AE
title and serves it from a background thread (`start()` / `stop()`, or `with`). The
connection rules (TCP_NODELAY, PDU deadline and size cap, association limit with
A-ASSOCIATE-RJ, cap on connections not yet associated) are in
`radflow.adapters.dicom.transport`; this module wires the services and maps outcomes to
DICOM statuses (`radflow.adapters.dicom.statuses`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from typing import Any, Self, cast

from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, _config, evt
from pynetdicom.dimse_primitives import C_FIND, N_CREATE, N_SET
from pynetdicom.dsutils import encode
from pynetdicom.transport import AssociationSocket

from radflow.adapters.dicom import statuses
from radflow.adapters.dicom.attributes import worklist_values
from radflow.adapters.dicom.find_wire import pending_responses
from radflow.adapters.dicom.mpps import MppsReceiver
from radflow.adapters.dicom.query import WorklistQuery
from radflow.adapters.dicom.responses import build_response
from radflow.adapters.dicom.transport import ConnectionLimits, GuardedAssociationServer
from radflow.adapters.dicom.wire import check_structure
from radflow.adapters.dicom.worklist import WorklistItem, WorklistSource
from radflow.config import Settings
from radflow.domain.errors import RadflowError, ValidationError

LOGGER = logging.getLogger(__name__)

# pynetdicom decodes every request identifier a second time only to log it, and formats
# a log entry for every PDU and DIMSE message even when nothing is logged; the SCP logs
# what it needs itself. (Process-wide pynetdicom settings, read when a server is made.)
_config.LOG_REQUEST_IDENTIFIERS = False
_config.LOG_RESPONSE_IDENTIFIERS = False
_config.LOG_HANDLER_LEVEL = "none"

# SOP classes (PS3.4): Verification (A.4), Modality Worklist Information Model - FIND
# (K.6.1.3), Modality Performed Procedure Step (F.7.3).
VERIFICATION = "1.2.840.10008.1.1"
MODALITY_WORKLIST_FIND = "1.2.840.10008.5.1.4.31"
MODALITY_PERFORMED_PROCEDURE_STEP = "1.2.840.10008.3.1.2.3.3"
_TRANSFER_SYNTAXES = [ExplicitVRLittleEndian, ImplicitVRLittleEndian]
FindAnswer = tuple[int | Dataset, Dataset | None]


@dataclass(frozen=True)
class DicomServerConfig:
    """Where the SCP listens, how long and how many it serves, and its worklist rules."""

    ae_title: str = "RADFLOW"
    host: str = "127.0.0.1"
    port: int = 11112
    zone: tzinfo = UTC
    # Associations served at once; request N+1 gets A-ASSOCIATE-RJ (local limit exceeded).
    max_associations: int = 10
    # Connections that have not yet sent an A-ASSOCIATE-RQ; more are closed at accept.
    max_pending_connections: int = 32
    # Time for the A-ASSOCIATE-RQ after connect, and for the ARTIM timer (PS3.8 9.1.5).
    acse_timeout: float = 10.0
    dimse_timeout: float = 30.0
    # An association idle this long is aborted.
    network_timeout: float = 60.0
    # A PDU must arrive whole within this many seconds of its first byte.
    pdu_timeout: float = 10.0
    # The largest PDU accepted (an A-ASSOCIATE-RQ or a P-DATA-TF), in bytes.
    max_pdu_length: int = 1 << 20
    # The Maximum Length the SCP announces for P-DATA-TF PDUs it receives (PS3.8 D.1).
    maximum_pdu_size: int = 65536
    # Calling AE titles allowed to associate; empty allows any.
    allowed_calling_aes: frozenset[str] = field(default_factory=frozenset)
    # A scanner that sends no Scheduled Station AE Title is matched by its calling AE.
    station_from_calling_ae: bool = False
    # Match Scheduled Procedure Step Start Date and Time as one date-time range.
    combined_datetime_matching: bool = False
    # At most this many answers to one C-FIND.
    max_worklist_answers: int = 2000
    # Write pending C-FIND responses straight to the wire (find_wire.py) instead of one pynetdicom
    # DIMSE message at a time; the final response still goes through pynetdicom.
    direct_find_responses: bool = True

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> DicomServerConfig:
        """The configuration from radflow's settings (RADFLOW_DICOM_*), with overrides."""
        allowed = frozenset(a.strip() for a in settings.dicom_allowed_calling_aes.split(",") if a.strip())
        base: dict[str, Any] = {
            "ae_title": settings.dicom_aet,
            "host": settings.dicom_host,
            "port": settings.dicom_port,
            "zone": settings.zone,
            "max_associations": settings.dicom_max_associations,
            "max_pending_connections": settings.dicom_max_pending_connections,
            "acse_timeout": settings.dicom_acse_timeout_seconds,
            "dimse_timeout": settings.dicom_dimse_timeout_seconds,
            "network_timeout": settings.dicom_network_timeout_seconds,
            "pdu_timeout": settings.dicom_pdu_timeout_seconds,
            "max_pdu_length": settings.dicom_max_pdu_bytes,
            "allowed_calling_aes": allowed,
            "station_from_calling_ae": settings.dicom_station_from_calling_ae,
            "combined_datetime_matching": settings.dicom_combined_datetime,
            "max_worklist_answers": settings.dicom_max_worklist_answers,
        }
        return cls(**{**base, **overrides})


class DicomServer:
    """One DICOM AE serving C-ECHO, worklist C-FIND and (when given) MPPS N-CREATE/N-SET."""

    def __init__(self, config: DicomServerConfig, worklist: WorklistSource, *, mpps: MppsReceiver | None = None):
        self.config = config
        self._worklist = worklist
        self._mpps = mpps
        self._server: GuardedAssociationServer | None = None
        self._thread: threading.Thread | None = None
        self._answers = AnswerCache()

    @property
    def port(self) -> int:
        """The port listened on (the ephemeral one when configured as 0)."""
        if self._server is None:
            raise RuntimeError("the DICOM server is not started")
        return int(self._server.server_address[1])

    @property
    def associations_in_use(self) -> int:
        """How many associations hold a slot now."""
        return self._server.associations_in_use if self._server is not None else 0

    def start(self) -> Self:
        """Bind and serve in a background thread; returns when the port is listening."""
        if self._server is not None:
            return self
        config = self.config
        ae = AE(ae_title=config.ae_title)
        ae.acse_timeout = config.acse_timeout
        ae.dimse_timeout = config.dimse_timeout
        ae.network_timeout = config.network_timeout
        ae.maximum_pdu_size = config.maximum_pdu_size
        # pynetdicom's own limit counts every connection; radflow's admission (transport.py)
        # counts associations only, so pynetdicom's must never be the one that bites.
        ae.maximum_associations = config.max_associations + config.max_pending_connections + 1
        if config.allowed_calling_aes:
            # PS3.8 9.3.4: rejected-permanent, service-user, calling-AE-title-not-recognized.
            ae.require_calling_aet = sorted(config.allowed_calling_aes)
        ae.add_supported_context(VERIFICATION, _TRANSFER_SYNTAXES)
        ae.add_supported_context(MODALITY_WORKLIST_FIND, _TRANSFER_SYNTAXES)
        handlers: list[Any] = [(evt.EVT_C_FIND, self._on_find)]
        if self._mpps is not None:
            ae.add_supported_context(MODALITY_PERFORMED_PROCEDURE_STEP, _TRANSFER_SYNTAXES)
            handlers += [(evt.EVT_N_CREATE, self._on_n_create), (evt.EVT_N_SET, self._on_n_set)]
        limits = ConnectionLimits(
            pdu_timeout=config.pdu_timeout,
            max_pdu_length=config.max_pdu_length,
            max_associations=config.max_associations,
            max_pending=config.max_pending_connections,
        )
        server = cast(
            GuardedAssociationServer,
            ae.make_server(
                (config.host, config.port),
                evt_handlers=handlers,
                server_class=GuardedAssociationServer,
                limits=limits,
            ),
        )
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.2}, name=f"dicom-{config.ae_title}", daemon=True
        )
        self._thread.start()
        LOGGER.info("DICOM %s listening on %s:%d", config.ae_title, config.host, self.port)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, abort the associations in progress and wait for their threads."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        # Connections that never associated hold nothing and end by their ARTIM timer;
        # the associations that may be using the worklist or the MPPS store are aborted and awaited.
        associations = [a for a in server.active_associations if server.is_admitted(a)]
        for assoc in associations:
            assoc.abort()
        for assoc in associations:
            assoc.join(timeout)
        if self._thread is not None:
            self._thread.join(timeout)
        LOGGER.info("DICOM %s stopped", self.config.ae_title)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- Modality Worklist C-FIND --------------------------------------------------------

    def _on_find(self, event: evt.Event) -> Iterator[FindAnswer]:
        """Answer a worklist C-FIND: one pending response per match, then success."""
        began = time.perf_counter()
        calling_ae = str(event.assoc.requestor.ae_title).strip()
        try:
            query = self._read_query(event, calling_ae)
        except ValidationError as error:
            LOGGER.info("worklist query from %s refused: %s", calling_ae, error.message)
            yield _find_failure(statuses.IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS, error), None
            return
        try:
            items = list(self._worklist.find(query, calling_ae, self.config.max_worklist_answers))
        except RadflowError as error:
            LOGGER.warning("worklist query from %s failed: %s", calling_ae, error.message)
            yield statuses.status_dataset(statuses.UNABLE_TO_PROCESS_WORKLIST_REFUSED, error.message), None
            return
        except Exception:
            # Protocol boundary: the scanner gets a failure status, the log gets the cause.
            LOGGER.exception("worklist source failed for a query from %s", calling_ae)
            yield statuses.status_dataset(statuses.UNABLE_TO_PROCESS_WORKLIST_FAILED, "worklist unavailable"), None
            return
        pending = statuses.PENDING_OPTIONAL_KEYS_UNSUPPORTED if query.has_unsupported_keys else statuses.PENDING
        zone = self.config.zone
        implicit_vr = event.context.transfer_syntax == ImplicitVRLittleEndian
        if items and self.config.direct_find_responses and self._send_directly(event, items, query, pending):
            LOGGER.info("worklist query from %s: %d item(s) sent in %.1f ms", calling_ae, len(items),
                        (time.perf_counter() - began) * 1000)
            return  # pynetdicom sends the final response
        LOGGER.info("worklist query from %s: %d item(s)", calling_ae, len(items))
        for item in items:
            if event.is_cancelled:
                yield statuses.CANCEL, None
                return
            yield pending, build_response(worklist_values(item, zone), query, implicit_vr=implicit_vr)

    def _send_directly(self, event: evt.Event, items: list[WorklistItem], query: WorklistQuery, status: int) -> bool:
        """Write every pending response as P-DATA-TF PDUs in one send; False when the socket is not ours."""
        sock = getattr(getattr(event.assoc, "dul", None), "socket", None)
        if not isinstance(sock, AssociationSocket) or sock.socket is None:
            return False
        implicit_vr = event.context.transfer_syntax == ImplicitVRLittleEndian
        request = cast(C_FIND, event.request)
        identifiers = self._answers.identifiers(items, query, implicit_vr, self.config.zone)
        payload = pending_responses(event.context.context_id, str(request.AffectedSOPClassUID),
                                    int(request.MessageID or 0), status, identifiers,
                                    int(event.assoc.dimse.maximum_pdu_size))
        sock.send(payload)
        return True

    def _read_query(self, event: evt.Event, calling_ae: str) -> WorklistQuery:
        try:
            raw = cast(C_FIND, event.request).Identifier
            if raw is not None:
                implicit_vr = event.context.transfer_syntax == ImplicitVRLittleEndian
                check_structure(raw.getvalue(), implicit_vr=implicit_vr)
            identifier = event.identifier
            return WorklistQuery.from_identifier(
                identifier,
                zone=self.config.zone,
                calling_ae=calling_ae,
                station_from_calling_ae=self.config.station_from_calling_ae,
                combined_datetime=self.config.combined_datetime_matching,
            )
        except ValidationError:
            raise
        except Exception as error:
            # pydicom raises many kinds of error on bytes that are not a data set.
            raise ValidationError(f"identifier cannot be decoded ({type(error).__name__})") from error

    # -- MPPS N-CREATE / N-SET -------------------------------------------------------------

    def _on_n_create(self, event: evt.Event) -> tuple[Dataset, Dataset | None]:
        """Record a started procedure step."""
        assert self._mpps is not None
        calling_ae = str(event.assoc.requestor.ae_title).strip()
        uid = cast(N_CREATE, event.request).AffectedSOPInstanceUID
        try:
            attributes = event.attribute_list
        except Exception:
            LOGGER.warning("MPPS N-CREATE from %s: attribute list cannot be decoded", calling_ae)
            return statuses.status_dataset(statuses.PROCESSING_FAILURE, "attribute list cannot be decoded"), None
        try:
            result = self._mpps.create(str(uid) if uid else None, attributes, calling_ae)
        except Exception:
            # Protocol boundary: the scanner is told to retry, the log gets the cause.
            LOGGER.exception("MPPS N-CREATE from %s failed", calling_ae)
            return statuses.status_dataset(statuses.PROCESSING_FAILURE, "MPPS not recorded"), None
        LOGGER.info(
            "MPPS N-CREATE %s from %s: 0x%04X %s",
            result.sop_instance_uid,
            calling_ae,
            result.status,
            result.disposition or result.comment,
        )
        answer = None
        if not uid and result.status in (statuses.SUCCESS, statuses.ATTRIBUTE_VALUE_OUT_OF_RANGE):
            answer = Dataset()
            answer.AffectedSOPInstanceUID = result.sop_instance_uid
        return result.as_dataset(with_attribute_list=False), answer

    def _on_n_set(self, event: evt.Event) -> tuple[Dataset, Dataset | None]:
        """Record an update or the end of a procedure step."""
        assert self._mpps is not None
        calling_ae = str(event.assoc.requestor.ae_title).strip()
        uid = str(cast(N_SET, event.request).RequestedSOPInstanceUID or "")
        try:
            modifications = event.modification_list
        except Exception:
            LOGGER.warning("MPPS N-SET from %s: modification list cannot be decoded", calling_ae)
            return statuses.status_dataset(statuses.PROCESSING_FAILURE, "modification list cannot be decoded"), None
        try:
            result = self._mpps.set(uid, modifications, calling_ae)
        except Exception:
            LOGGER.exception("MPPS N-SET %s from %s failed", uid, calling_ae)
            return statuses.status_dataset(statuses.PROCESSING_FAILURE, "MPPS not recorded"), None
        LOGGER.info(
            "MPPS N-SET %s from %s: 0x%04X %s", uid, calling_ae, result.status, result.disposition or result.comment
        )
        return result.as_dataset(), None


class AnswerCache:
    """Encoded C-FIND identifiers per query shape and item: immutable values, bounded.

    A scanner asks the same keys at every refresh, and a worklist source hands out the same item
    object until the item changes (a changed item is a new object), so a repeated query is answered
    by concatenating bytes. Entries are found by the item's identity and hold the item, so an id is
    never reused while its entry lives. One per process; nothing in it is state another process needs.
    """

    def __init__(self, size: int = 20_000, shapes: int = 64) -> None:
        self._shapes: OrderedDict[tuple[object, ...], OrderedDict[int, tuple[WorklistItem, bytes]]] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size
        self._max_shapes = shapes

    def identifiers(self, items: list[WorklistItem], query: WorklistQuery, implicit_vr: bool,
                    zone: tzinfo) -> list[bytes]:
        """Each item's answer to this query, encoded for the transfer syntax."""
        shape = (query.keys, query.character_sets, query.asks_character_set, implicit_vr, zone)
        with self._lock:
            entries = self._shapes.get(shape)
            if entries is None:
                entries = self._shapes[shape] = OrderedDict()
                if len(self._shapes) > self._max_shapes:
                    self._shapes.popitem(last=False)
        answers = []
        for item in items:
            with self._lock:
                entry = entries.get(id(item))
            if entry is not None and entry[0] is item:
                answers.append(entry[1])
                continue
            encoded = encode(build_response(worklist_values(item, zone), query, implicit_vr=implicit_vr),
                             implicit_vr, True)
            if encoded is None:
                raise ValidationError(f"the answer for {item.accession_number} cannot be encoded")
            with self._lock:
                entries[id(item)] = (item, encoded)
                if len(entries) > self._size:
                    entries.popitem(last=False)
            answers.append(encoded)
        return answers


def _find_failure(code: int, error: ValidationError) -> Dataset:
    from pydicom.datadict import tag_for_keyword

    offending = [int(tag_for_keyword(error.field) or 0)] if error.field else []
    return statuses.status_dataset(code, error.message, offending=offending)
