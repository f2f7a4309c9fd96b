"""MPPS SCP logic: N-CREATE and N-SET judged by PS3.4 F.7.2, translated into `PerformedStep`s.

`MppsReceiver` holds no state of its own: each instance's attributes so far live in an
`MppsStore`, and what was performed goes to a `PerformedStepSink`. The rules:

- N-CREATE (F.7.2.1) must carry Performed Procedure Step Status IN PROGRESS (else 0x0106)
  and the attributes radflow acts on, which the standard makes required (Table F.7.2-1,
  type 1): Scheduled Step Attributes Sequence, Performed Procedure Step ID, start date
  and time, Modality (absent: 0x0120; empty: 0x0121). A known SOP Instance UID is 0x0111.
- N-SET (F.7.2.2) on an unknown instance is 0x0112; on a COMPLETED or DISCONTINUED one,
  0x0110 "may no longer be updated"; a status other than IN PROGRESS, COMPLETED or
  DISCONTINUED is 0x0106. Attributes the table allows only at N-CREATE (patient,
  scheduled step references, start, station) are kept as created and logged.
- Dates and times are the site's local time unless Timezone Offset From UTC (0008,0201)
  says otherwise (PS3.3 C.12.1.1.8); a malformed one is 0x0106.
- Numbers radflow only records (dose, contrast volume) that are negative or unreadable are
  dropped with the warning 0x0116; the step is still accepted.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation

from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from radflow.adapters.dicom import statuses
from radflow.adapters.dicom.matching import parse_date, parse_time
from radflow.adapters.dicom.performed_step import (
    MppsInstance,
    MppsStore,
    PerformedSeries,
    PerformedStep,
    PerformedStepSink,
    PerformedStepStatus,
    RadiationDose,
    ScheduledStepReference,
    StepDisposition,
    SupplyUsed,
)
from radflow.adapters.dicom.worklist import CodedEntry
from radflow.domain.clock import Clock
from radflow.domain.errors import Conflict, RadflowError, ValidationError

LOGGER = logging.getLogger(__name__)

_REQUIRED_AT_CREATE = (
    "PerformedProcedureStepStatus",
    "ScheduledStepAttributesSequence",
    "PerformedProcedureStepID",
    "PerformedProcedureStepStartDate",
    "PerformedProcedureStepStartTime",
    "Modality",
)
# PS3.4 Table F.7.2-1: attributes whose N-SET requirement is "Not allowed".
_CREATE_ONLY = frozenset(
    {
        "SpecificCharacterSet",
        "ScheduledStepAttributesSequence",
        "PatientName",
        "PatientID",
        "IssuerOfPatientID",
        "PatientBirthDate",
        "PatientSex",
        "ReferencedPatientSequence",
        "PerformedStationAETitle",
        "PerformedStationName",
        "PerformedLocation",
        "PerformedProcedureStepStartDate",
        "PerformedProcedureStepStartTime",
        "PerformedProcedureStepID",
        "Modality",
        "StudyID",
        "TimezoneOffsetFromUTC",
    }
)


@dataclass(frozen=True, slots=True)
class MppsResult:
    """The answer to one N-CREATE or N-SET: a status and what the scanner is told."""

    status: int
    comment: str = ""
    attributes: tuple[int, ...] = ()
    sop_instance_uid: str = ""
    disposition: StepDisposition | None = None

    def as_dataset(self, *, with_attribute_list: bool = True) -> Dataset:
        """The status data set pynetdicom sends.

        pynetdicom's N-CREATE response has no Attribute Identifier List (0000,1005): there
        the Error Comment, which names the attributes, has to do.
        """
        attributes = self.attributes if with_attribute_list else ()
        return statuses.status_dataset(self.status, self.comment, attribute_list=attributes)


def _tag(keyword: str) -> int:
    return int(tag_for_keyword(keyword) or 0)


class _Refusal(Exception):
    """Carries a refusal out of the translation; never leaves this module."""

    def __init__(self, status: int, comment: str, *keywords: str) -> None:
        super().__init__(comment)
        self.result = MppsResult(status, comment, tuple(_tag(k) for k in keywords))


class MppsReceiver:
    """Handles MPPS N-CREATE and N-SET against a store of instances and a sink of steps."""

    def __init__(self, store: MppsStore, sink: PerformedStepSink, clock: Clock, zone: tzinfo) -> None:
        self._store = store
        self._sink = sink
        self._clock = clock
        self._zone = zone

    def create(self, sop_instance_uid: str | None, attributes: Dataset, calling_ae: str) -> MppsResult:
        """N-CREATE: a scanner started a procedure step (IN PROGRESS)."""
        uid = sop_instance_uid or f"2.25.{uuid.uuid4().int}"  # PS3.7 10.1.5: SCP may assign it
        try:
            _check_create(attributes)
            step, warnings = translate(attributes, uid, calling_ae, self._zone)
        except _Refusal as refusal:
            return replace(refusal.result, sop_instance_uid=uid)
        now = self._clock.now()
        instance = MppsInstance(uid, step.status, attributes.to_json_dict(), calling_ae, now, now)
        try:
            self._store.add(instance)
        except Conflict:
            return MppsResult(statuses.DUPLICATE_SOP_INSTANCE, f"MPPS {uid[:40]} exists", sop_instance_uid=uid)
        try:
            disposition = self._sink.started(step)
        except RadflowError as error:
            # The step could not be recorded: forget it so the scanner's retry is not a duplicate.
            self._store.discard(uid)
            return _sink_failure(error, uid)
        except Exception:
            self._store.discard(uid)
            raise
        return _accepted(uid, disposition, warnings)

    def set(self, sop_instance_uid: str, modifications: Dataset, calling_ae: str) -> MppsResult:
        """N-SET: a scanner updated a step, or ended it (COMPLETED / DISCONTINUED)."""
        uid = sop_instance_uid
        current = self._store.get(uid)
        if current is None:
            return MppsResult(statuses.NO_SUCH_SOP_INSTANCE, "no such MPPS instance", sop_instance_uid=uid)
        if current.status.is_final:
            # PS3.4 F.7.2.2.2: a COMPLETED or DISCONTINUED step may no longer be updated.
            return MppsResult(statuses.PROCESSING_FAILURE, statuses.NO_LONGER_UPDATABLE, sop_instance_uid=uid)
        merged = Dataset.from_json(dict(current.attributes))
        ignored = _merge(merged, modifications)
        if ignored:
            LOGGER.info("MPPS %s: N-SET from %s tried to change %s; kept as created", uid, calling_ae, ignored)
        try:
            step, warnings = translate(merged, uid, current.calling_ae, self._zone)
        except _Refusal as refusal:
            return replace(refusal.result, sop_instance_uid=uid)
        updated = replace(
            current,
            status=step.status,
            attributes=merged.to_json_dict(),
            updated_at=self._clock.now(),
            revision=current.revision + 1,
        )
        try:
            self._store.replace(updated, expected_revision=current.revision)
        except Conflict as error:
            return MppsResult(statuses.PROCESSING_FAILURE, error.message, sop_instance_uid=uid)
        try:
            disposition = self._sink.updated(step)
        except RadflowError as error:
            self._store.replace(current, expected_revision=updated.revision)
            return _sink_failure(error, uid)
        except Exception:
            self._store.replace(current, expected_revision=updated.revision)
            raise
        return _accepted(uid, disposition, warnings)


def _accepted(uid: str, disposition: StepDisposition, warnings: list[str]) -> MppsResult:
    if warnings:
        return MppsResult(
            statuses.ATTRIBUTE_VALUE_OUT_OF_RANGE,
            f"ignored: {', '.join(warnings)}",
            tuple(_tag(k) for k in warnings),
            uid,
            disposition,
        )
    return MppsResult(statuses.SUCCESS, sop_instance_uid=uid, disposition=disposition)


def _sink_failure(error: RadflowError, uid: str) -> MppsResult:
    code = statuses.INVALID_ATTRIBUTE_VALUE if isinstance(error, ValidationError) else statuses.PROCESSING_FAILURE
    LOGGER.warning("MPPS %s not recorded: %s", uid, error.message)
    return MppsResult(code, error.message, sop_instance_uid=uid)


def _check_create(attributes: Dataset) -> None:
    missing = [k for k in _REQUIRED_AT_CREATE if k not in attributes]
    if missing:
        raise _Refusal(statuses.MISSING_ATTRIBUTE, f"missing: {', '.join(missing)}", *missing)
    empty = [k for k in _REQUIRED_AT_CREATE if attributes[k].value in (None, "", [])]
    if empty:
        raise _Refusal(statuses.MISSING_ATTRIBUTE_VALUE, f"empty: {', '.join(empty)}", *empty)
    status = str(attributes.PerformedProcedureStepStatus).strip()
    if status != PerformedStepStatus.IN_PROGRESS:
        # PS3.4 F.7.2.1: an MPPS is created IN PROGRESS.
        raise _Refusal(
            statuses.INVALID_ATTRIBUTE_VALUE,
            f"N-CREATE status must be IN PROGRESS, not {status[:20]}",
            "PerformedProcedureStepStatus",
        )


def _merge(merged: Dataset, modifications: Dataset) -> list[str]:
    ignored: list[str] = []
    for element in modifications:
        if element.tag.group in (0x0000, 0x0002):
            continue
        if element.keyword in _CREATE_ONLY:
            ignored.append(element.keyword)
            continue
        merged[element.tag] = element
    return ignored


# -- translation -----------------------------------------------------------------------


def translate(ds: Dataset, sop_instance_uid: str, calling_ae: str, zone: tzinfo) -> tuple[PerformedStep, list[str]]:
    """Read an MPPS data set into a PerformedStep, with the keywords of values ignored."""
    warnings: list[str] = []
    status_text = _text(ds, "PerformedProcedureStepStatus")
    try:
        status = PerformedStepStatus(status_text)
    except ValueError:
        raise _Refusal(
            statuses.INVALID_ATTRIBUTE_VALUE,
            f"unknown status {status_text[:30]!r}",
            "PerformedProcedureStepStatus",
        ) from None
    local_zone = _zone_of(ds, zone)
    started = _instant(ds, "PerformedProcedureStepStartDate", "PerformedProcedureStepStartTime", local_zone)
    ended = _instant(ds, "PerformedProcedureStepEndDate", "PerformedProcedureStepEndTime", local_zone)
    reason_items = _items(ds, "PerformedProcedureStepDiscontinuationReasonCodeSequence")
    step = PerformedStep(
        sop_instance_uid=sop_instance_uid,
        status=status,
        calling_ae=calling_ae,
        performed_station_ae_title=_text(ds, "PerformedStationAETitle") or calling_ae,
        performed_procedure_step_id=_text(ds, "PerformedProcedureStepID"),
        modality=_text(ds, "Modality"),
        patient_id=_text(ds, "PatientID"),
        patient_name=_text(ds, "PatientName"),
        scheduled_steps=tuple(
            ScheduledStepReference(
                accession_number=_text(item, "AccessionNumber"),
                study_instance_uid=_text(item, "StudyInstanceUID"),
                requested_procedure_id=_text(item, "RequestedProcedureID"),
                scheduled_procedure_step_id=_text(item, "ScheduledProcedureStepID"),
            )
            for item in _items(ds, "ScheduledStepAttributesSequence")
        ),
        started=started,
        ended=ended,
        description=_text(ds, "PerformedProcedureStepDescription"),
        performed_protocol_codes=tuple(_codes(_items(ds, "PerformedProtocolCodeSequence"))),
        discontinuation_reason=next(iter(_codes(reason_items)), None),
        series=tuple(_series(item) for item in _items(ds, "PerformedSeriesSequence")),
        dose=_dose(ds, warnings),
        supplies=tuple(_supply(item, warnings) for item in _items(ds, "BillingSuppliesAndDevicesSequence")),
        contrast_agent=_text(ds, "ContrastBolusAgent"),
        contrast_volume_ml=_decimal(ds, "ContrastBolusVolume", warnings),
    )
    return step, warnings


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword)
    if value is None:
        return ""
    if isinstance(value, MultiValue | list | tuple):
        return "\\".join(str(v) for v in value).strip()
    return str(value).strip()


def _items(ds: Dataset, keyword: str) -> list[Dataset]:
    value = ds.get(keyword)
    return list(value) if value else []


def _codes(items: Iterable[Dataset]) -> Iterable[CodedEntry]:
    for item in items:
        yield CodedEntry(
            value=_text(item, "CodeValue"),
            scheme=_text(item, "CodingSchemeDesignator"),
            meaning=_text(item, "CodeMeaning"),
            scheme_version=_text(item, "CodingSchemeVersion"),
        )


def _zone_of(ds: Dataset, zone: tzinfo) -> tzinfo:
    offset = _text(ds, "TimezoneOffsetFromUTC")
    if not offset:
        return zone
    if len(offset) != 5 or offset[0] not in "+-" or not offset[1:].isdigit():
        raise _Refusal(
            statuses.INVALID_ATTRIBUTE_VALUE, f"bad timezone offset {offset[:10]!r}", "TimezoneOffsetFromUTC"
        )
    sign = -1 if offset[0] == "-" else 1
    return timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:])))


def _instant(ds: Dataset, date_keyword: str, time_keyword: str, zone: tzinfo) -> datetime | None:
    day_text, clock_text = _text(ds, date_keyword), _text(ds, time_keyword)
    if not day_text:
        return None
    try:
        day = parse_date(day_text, keyword=date_keyword)
        clock = parse_time(clock_text, keyword=time_keyword) if clock_text else None
    except ValidationError as error:
        raise _Refusal(statuses.INVALID_ATTRIBUTE_VALUE, error.message, error.field or date_keyword) from None
    if clock is None:
        return datetime.combine(day, datetime.min.time(), zone)
    return datetime.combine(day, clock, zone)


def _decimal(ds: Dataset, keyword: str, warnings: list[str]) -> Decimal | None:
    text = _text(ds, keyword)
    if not text:
        return None
    try:
        value = Decimal(text.split("\\")[0])
    except InvalidOperation:
        warnings.append(keyword)
        return None
    if value < 0 or not value.is_finite():
        warnings.append(keyword)
        return None
    return value


def _count(ds: Dataset, keyword: str, warnings: list[str]) -> int | None:
    value = _decimal(ds, keyword, warnings)
    return int(value) if value is not None else None


def _series(item: Dataset) -> PerformedSeries:
    return PerformedSeries(
        series_instance_uid=_text(item, "SeriesInstanceUID"),
        series_description=_text(item, "SeriesDescription"),
        protocol_name=_text(item, "ProtocolName"),
        operator=_text(item, "OperatorsName"),
        performing_physician=_text(item, "PerformingPhysicianName"),
        retrieve_ae_title=_text(item, "RetrieveAETitle"),
        number_of_images=len(_items(item, "ReferencedImageSequence"))
        + len(_items(item, "ReferencedNonImageCompositeSOPInstanceSequence")),
    )


def _dose(ds: Dataset, warnings: list[str]) -> RadiationDose | None:
    dose = RadiationDose(
        ctdi_vol_mgy=_decimal(ds, "CTDIvol", warnings),
        total_time_of_fluoroscopy_s=_count(ds, "TotalTimeOfFluoroscopy", warnings),
        total_number_of_exposures=_count(ds, "TotalNumberOfExposures", warnings),
        entrance_dose_mgy=_decimal(ds, "EntranceDoseInmGy", warnings),
        image_and_fluoroscopy_area_dose_product=_decimal(ds, "ImageAndFluoroscopyAreaDoseProduct", warnings),
        comments=_text(ds, "CommentsOnRadiationDose"),
    )
    return None if dose == RadiationDose() else dose


def _supply(item: Dataset, warnings: list[str]) -> SupplyUsed:
    quantity_item = next(iter(_items(item, "QuantitySequence")), Dataset())
    return SupplyUsed(
        item=next(iter(_codes(_items(item, "BillingItemSequence"))), None),
        quantity=_decimal(quantity_item, "Quantity", warnings),
        unit=next(iter(_codes(_items(quantity_item, "MeasuringUnitsSequence"))), None),
    )
