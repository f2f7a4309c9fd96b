"""What every service handler is given besides its command and unit of work."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol as TypingProtocol

from radflow.config import Settings, track_targets_hours
from radflow.domain.checklist import ChecklistRule
from radflow.domain.clock import Clock
from radflow.domain.distribution import ResultsPolicy
from radflow.domain.payer_rules import Payer
from radflow.domain.protocols import Protocol
from radflow.domain.rads.extraction import FollowupExtractor
from radflow.domain.reading import PacsStudies, ReportingPolicy
from radflow.domain.study import ImageAvailability
from radflow.services.ports import MessageGateway, RecordingGateway
from radflow.services.results_ports import ReportPrinter


class CatalogView(TypingProtocol):
    """The parts of the shipped catalog that services read."""

    def protocol(self, code: str) -> Protocol:
        """The protocol with this code (NotFound names an unknown code)."""
        ...

    def payer(self, payer_id: str) -> Payer:
        """The payer with this id (NotFound names an unknown payer)."""
        ...


@dataclass(frozen=True)
class ServiceContext:
    """Clock, settings, reference data and secrets: injected by the composition root."""

    clock: Clock
    settings: Settings
    catalog: CatalogView
    checklist_rules: Sequence[ChecklistRule]
    audit_key: bytes = field(repr=False)
    gateway: MessageGateway = field(default_factory=RecordingGateway)
    # Reading and reporting (issue 7): turnaround targets, claim length and critical-result deadlines;
    # the PACS to ask for priors (C-FIND) and the report-text reader (None: not configured).
    reporting: ReportingPolicy = field(default_factory=ReportingPolicy)
    pacs: PacsStudies | None = None
    extractor: FollowupExtractor | None = None
    # The exam day (issue 5): where QC asks whether a study's images reached the PACS (None: not asked).
    image_availability: ImageAvailability | None = None
    # Distribution, patient communication and follow-up (issue 7): their deadlines, and the PDF printer of
    # reports and letters (None: the WeasyPrint printer, which radflow.wiring.results gives the handlers).
    results: ResultsPolicy = field(default_factory=ResultsPolicy)
    report_printer: ReportPrinter | None = None

    def track_target(self, track: str) -> timedelta:
        """The configured target for a routing track (received → exam start)."""
        return timedelta(hours=track_targets_hours(self.settings)[track])
