"""A small C-FIND SCU asking the PACS which studies it holds (Study Root, STUDY level).

Used before a study goes to reading (have the images arrived?) and to list a patient's
priors. One association per question, as the PACS sees any modality do. Study Root
Query/Retrieve Information Model - FIND, PS3.4 C.6.2; study-level keys PS3.4 C.6.2.1.2.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, time

from pydicom.dataset import Dataset
from pynetdicom import AE

from radflow.adapters.dicom.matching import parse_date, parse_time
from radflow.domain.errors import RadflowError, ValidationError

LOGGER = logging.getLogger(__name__)

STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
_PENDING = (0xFF00, 0xFF01)
_SUCCESS = 0x0000


class PacsUnavailable(RadflowError):
    """The PACS could not be reached, refused the association, or stopped answering."""

    code = "pacs-unavailable"


class PacsQueryFailed(RadflowError):
    """The PACS answered the query with a failure status."""

    code = "pacs-query-failed"


@dataclass(frozen=True, slots=True)
class PacsConfig:
    """Where the PACS listens and who radflow is to it."""

    host: str
    port: int
    called_ae_title: str
    calling_ae_title: str = "RADFLOW"
    timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class PacsStudy:
    """One study the PACS holds, as its study-level C-FIND answer describes it."""

    study_instance_uid: str
    accession_number: str
    patient_id: str
    study_date: date | None
    study_time: time | None
    modalities: tuple[str, ...]
    description: str
    number_of_series: int | None
    number_of_instances: int | None


class PacsClient:
    """Asks one PACS for studies by accession number or by patient."""

    def __init__(self, config: PacsConfig) -> None:
        self.config = config

    def studies_by_accession(self, accession_number: str) -> list[PacsStudy]:
        """The studies carrying this accession number (usually one, none before images arrive)."""
        if not accession_number.strip() or any(c in accession_number for c in "*?\\"):
            raise ValidationError("an accession number to look up must be a single value", field="accession_number")
        return self._find(_study_query(AccessionNumber=accession_number))

    def studies_for_patient(
        self,
        patient_id: str,
        *,
        modality: str = "",
        date_from: date | None = None,
        date_to: date | None = None,
    ) -> list[PacsStudy]:
        """A patient's studies (priors), optionally of one modality and within dates."""
        if not patient_id.strip() or any(c in patient_id for c in "*?\\"):
            raise ValidationError("a patient ID to look up must be a single value", field="patient_id")
        date_range = ""
        if date_from or date_to:
            # PS3.4 C.2.2.2.5: an open-ended range is '-date' or 'date-'.
            date_range = f"{date_from.strftime('%Y%m%d') if date_from else ''}-"
            date_range += date_to.strftime("%Y%m%d") if date_to else ""
        return self._find(_study_query(PatientID=patient_id, ModalitiesInStudy=modality, StudyDate=date_range))

    def images_available(self, accession_number: str) -> bool:
        """Tell whether the PACS holds at least one instance for the accession number."""
        return any((s.number_of_instances or 0) > 0 for s in self.studies_by_accession(accession_number))

    def _find(self, query: Dataset) -> list[PacsStudy]:
        config = self.config
        ae = AE(ae_title=config.calling_ae_title)
        ae.acse_timeout = config.timeout
        ae.dimse_timeout = config.timeout
        ae.network_timeout = config.timeout
        ae.connection_timeout = config.timeout
        ae.add_requested_context(STUDY_ROOT_FIND)
        assoc = ae.associate(config.host, config.port, ae_title=config.called_ae_title)
        if not assoc.is_established:
            raise PacsUnavailable(
                f"PACS {config.called_ae_title} at {config.host}:{config.port} did not accept an association "
                f"({'rejected' if assoc.is_rejected else 'no answer or aborted'})"
            )
        studies: list[PacsStudy] = []
        try:
            for status, identifier in assoc.send_c_find(query, STUDY_ROOT_FIND):
                if status is None or "Status" not in status:
                    raise PacsUnavailable(f"PACS {config.called_ae_title} stopped answering the query")
                code = int(status.Status)
                if code in _PENDING and identifier is not None:
                    studies.append(_study_from(identifier))
                elif code != _SUCCESS and code not in _PENDING:
                    raise PacsQueryFailed(f"PACS {config.called_ae_title} answered status 0x{code:04X}")
        finally:
            if assoc.is_established:
                assoc.release()
        return studies


def _study_query(**keys: str) -> Dataset:
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    for keyword in (
        "StudyInstanceUID",
        "AccessionNumber",
        "PatientID",
        "StudyDate",
        "StudyTime",
        "ModalitiesInStudy",
        "StudyDescription",
        "NumberOfStudyRelatedSeries",
        "NumberOfStudyRelatedInstances",
    ):
        setattr(query, keyword, keys.get(keyword, ""))
    return query


def _text(identifier: Dataset, keyword: str) -> str:
    value = identifier.get(keyword)
    return "" if value is None else str(value).strip()


def _number(identifier: Dataset, keyword: str) -> int | None:
    text = _text(identifier, keyword)
    try:
        return int(text) if text else None
    except ValueError:
        return None


def _study_from(identifier: Dataset) -> PacsStudy:
    modalities = identifier.get("ModalitiesInStudy")
    if modalities is None or modalities == "":
        modality_list: tuple[str, ...] = ()
    elif isinstance(modalities, str):
        modality_list = tuple(m for m in modalities.split("\\") if m)
    else:
        modality_list = tuple(str(m) for m in modalities if m)
    study_date, study_time = _text(identifier, "StudyDate"), _text(identifier, "StudyTime")
    try:
        parsed_date = parse_date(study_date) if study_date else None
        parsed_time = parse_time(study_time) if study_time else None
    except ValidationError:
        LOGGER.warning("PACS answered an unreadable study date/time %r %r", study_date, study_time)
        parsed_date, parsed_time = None, None
    return PacsStudy(
        study_instance_uid=_text(identifier, "StudyInstanceUID"),
        accession_number=_text(identifier, "AccessionNumber"),
        patient_id=_text(identifier, "PatientID"),
        study_date=parsed_date,
        study_time=parsed_time,
        modalities=modality_list,
        description=_text(identifier, "StudyDescription"),
        number_of_series=_number(identifier, "NumberOfStudyRelatedSeries"),
        number_of_instances=_number(identifier, "NumberOfStudyRelatedInstances"),
    )
