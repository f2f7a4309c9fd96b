"""The DICOM listener of `radflow serve`: worklist C-FIND from the database, MPPS into the order pipeline.

`make_listener(radflow)` wires the DICOM SCP (`radflow.adapters.dicom.server`) to the database-backed
worklist (`SqlWorklistSource` on the `mwl_items` projection), the MPPS instance store (`SqlMppsStore`)
and a `PerformedStepSink` that hands each step to the service bus (`RecordPerformedStep`), acting as
the system principal `dicom` with the integration role. Limits, timeouts, the calling-AE allow-list
and the worklist rules come from `RADFLOW_DICOM_*` settings.
"""

from __future__ import annotations

import logging
from typing import Any

from radflow.adapters.db.exam_day_dicom import SqlMppsStore, SqlWorklistSource
from radflow.adapters.dicom.mpps import MppsReceiver
from radflow.adapters.dicom.performed_step import PerformedStep, StepDisposition
from radflow.adapters.dicom.server import DicomServer, DicomServerConfig
from radflow.bootstrap import Radflow
from radflow.domain.study import StepStatus
from radflow.domain.users import Principal, Role
from radflow.services.bus import ServiceBus
from radflow.services.exam_day.performed_steps import APPLIED, RecordPerformedStep, StepReport

LOGGER = logging.getLogger("radflow.dicom")


def step_report(step: PerformedStep) -> StepReport:
    """The service's view of a translated MPPS."""
    reason = step.discontinuation_reason
    return StepReport(
        sop_instance_uid=step.sop_instance_uid, status=StepStatus(step.status.value), calling_ae=step.calling_ae,
        station_ae_title=step.performed_station_ae_title, modality=step.modality,
        accession_numbers=step.accession_numbers, patient_id=step.patient_id, patient_name=step.patient_name,
        started=step.started, ended=step.ended, discontinuation_code=reason.value if reason else "",
        discontinuation_meaning=reason.meaning if reason else "", series_count=len(step.series),
        image_count=sum(s.number_of_images for s in step.series), description=step.description,
        ctdi_vol_mgy=step.dose.ctdi_vol_mgy if step.dose else None, contrast_agent=step.contrast_agent,
        contrast_volume_ml=step.contrast_volume_ml)


class BusStepSink:
    """A PerformedStepSink that records steps through the service bus (one transaction per message)."""

    def __init__(self, bus: ServiceBus, actor: Principal | None = None) -> None:
        self._bus = bus
        self._actor = actor or Principal.system("dicom", role=Role.INTEGRATION, source="dicom")

    def _record(self, step: PerformedStep, created: bool) -> StepDisposition:
        disposition = self._bus.handle(RecordPerformedStep(actor=self._actor, report=step_report(step),
                                                           created=created))
        return StepDisposition.APPLIED if disposition == APPLIED else StepDisposition.QUEUED

    def started(self, step: PerformedStep) -> StepDisposition:
        """An MPPS was created (IN PROGRESS)."""
        return self._record(step, created=True)

    def updated(self, step: PerformedStep) -> StepDisposition:
        """An MPPS was updated or ended."""
        return self._record(step, created=False)


class DicomListener:
    """The DICOM SCP of one radflow process (start/stop, as `radflow serve` expects)."""

    def __init__(self, server: DicomServer) -> None:
        self.server = server

    def start(self) -> None:
        """Bind and serve in background threads."""
        # pynetdicom's per-association INFO chatter costs time on every query; radflow's SCP logs
        # each query and MPPS message itself (radflow.adapters.dicom.server).
        logging.getLogger("pynetdicom").setLevel(logging.WARNING)
        self.server.start()
        LOGGER.info("DICOM worklist and MPPS as %s on %s:%d", self.server.config.ae_title, self.server.config.host,
                    self.server.port)

    def stop(self) -> None:
        """Stop accepting and end the associations in progress."""
        self.server.stop()

    @property
    def port(self) -> int:
        """The port listened on."""
        return self.server.port


def make_listener(radflow: Radflow, **overrides: Any) -> DicomListener:
    """The DICOM listener for a wired radflow (`overrides` change the server configuration, e.g. port=0)."""
    settings = radflow.settings
    config = DicomServerConfig.from_settings(settings, **overrides)
    worklist = SqlWorklistSource(radflow.engine, config.zone)
    receiver = MppsReceiver(SqlMppsStore(radflow.engine), BusStepSink(radflow.bus), radflow.ctx.clock, config.zone)
    return DicomListener(DicomServer(config, worklist, mpps=receiver))
