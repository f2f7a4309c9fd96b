"""Fixtures for the HL7 interface's service tests: a wired radflow with the sample mapping loaded."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from radflow.bootstrap import Radflow
from radflow.domain.users import Principal, Role
from radflow.services.interfaces.inbound import Hl7Inbound
from radflow.services.interfaces.mappings import LoadMapping

_HERE = str(Path(__file__).parent)
if _HERE not in sys.path:  # the support module beside this file (see tests/integration/hl7/conftest.py)
    sys.path.insert(0, _HERE)

DATA = Path(__file__).parents[2] / "data" / "hl7"
ADMIN = Principal.system("test-admin", role=Role.ADMIN)


def load_mapping_text(radflow: Radflow, text: str) -> int:
    """Load a mapping through the service, as `radflow hl7 mapping load` does."""
    return int(radflow.bus.handle(LoadMapping(actor=ADMIN, content=text, source="mapping.yaml")).version)


@pytest.fixture
def inbound(radflow: Radflow) -> Hl7Inbound:
    """The application behind the MLLP listener, with the sample senders' mapping loaded."""
    load_mapping_text(radflow, (DATA / "mapping.yaml").read_text())
    return Hl7Inbound(radflow.bus.uow_factory, radflow.ctx)
