"""Fixtures for the HL7 interface's service tests: a wired radflow with the sample mapping loaded."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from radflow.bootstrap import Radflow
from radflow.services.interfaces.inbound import Hl7Inbound

_HERE = str(Path(__file__).parent)
if _HERE not in sys.path:  # the support module beside this file (see tests/integration/hl7/conftest.py)
    sys.path.insert(0, _HERE)

from hl7_service_support import DATA, load_mapping_text  # noqa: E402 - importable once the path is set


@pytest.fixture
def inbound(radflow: Radflow) -> Hl7Inbound:
    """The application behind the MLLP listener, with the sample senders' mapping loaded."""
    load_mapping_text(radflow, (DATA / "mapping.yaml").read_text())
    return Hl7Inbound(radflow.bus.uow_factory, radflow.ctx)
