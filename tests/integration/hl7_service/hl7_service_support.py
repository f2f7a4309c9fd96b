"""Reading ACKs and the database in the HL7 service tests."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from radflow.adapters.db import hl7_tables as h
from radflow.adapters.db import tables as t
from radflow.bootstrap import Radflow
from radflow.domain.users import Principal, Role
from radflow.entrypoints.worker import work_once
from radflow.services.interfaces.mappings import LoadMapping

DATA = Path(__file__).parents[2] / "data" / "hl7"
ADMIN = Principal.system("test-admin", role=Role.ADMIN)


def load_mapping_text(radflow: Radflow, text: str) -> int:
    """Load a mapping through the service, as `radflow hl7 mapping load` does."""
    return int(radflow.bus.handle(LoadMapping(actor=ADMIN, content=text, source="mapping.yaml")).version)


def sample(name: str) -> bytes:
    """A sample message's bytes."""
    return (DATA / name).read_bytes()


def segment(reply: bytes, name: str) -> list[str]:
    """The fields of the first segment `name` of a reply (field n at index n)."""
    for line in reply.decode("latin-1").split("\r"):
        if line.startswith(name):
            return line.split("|")
    raise AssertionError(f"no {name} in {reply!r}")


def ack_code(reply: bytes) -> str:
    """MSA-1."""
    return segment(reply, "MSA")[1]


def count(radflow: Radflow, table: str) -> int:
    """Rows in a table."""
    tables = {"orders": t.orders, "patients": t.patients, "messages": h.hl7_messages, "jobs": t.jobs,
              "documents": t.documents, "referrals": t.referrals}
    with radflow.session_factory() as session:
        return int(session.execute(select(func.count()).select_from(tables[table])).scalar_one())


def drain(radflow: Radflow, owner: str = "test-worker", rounds: int = 50) -> int:
    """Run the worker until nothing is due (one job per queue per round); returns how many jobs ran."""
    total = 0
    for _ in range(rounds):
        ran = work_once(radflow, owner)
        if ran == 0:
            return total
        total += ran
    return total
