"""Demo seeding for the HL7 interface: an "EPIC" sender's mapping, and a morning of its messages sent
through the real receiving path (stored, applied, acknowledged), so the monitor has something to show:
new orders, a patient update, a retry answered with the stored ACK, a refused order (an unmapped
procedure), a reused control id held for review, and a report from the dictation system.
"""

from __future__ import annotations

from rich.console import Console

from radflow.bootstrap import Radflow
from radflow.domain.clock import FakeClock
from radflow.domain.errors import RadflowError
from radflow.domain.users import Principal, Role
from radflow.services.interfaces.inbound import Hl7Inbound
from radflow.services.interfaces.mappings import LoadMapping

DEMO_MAPPING = """\
# Demo mapping (schema: docs/hl7-mapping.md). Status and reports go back to 127.0.0.1:2576, where
# nothing listens in the demo: they wait in the outbound queue and end as dead letters to resend.
version: 1
senders:
  - name: Main Hospital EHR (Epic)
    sending_application: EPIC
    sending_facility: MAINHOSP
    timezone: America/New_York
    mrn: {assigning_authority: MAINHOSP, identifier_type: MR}
    procedures:
      IMG1234: {protocol: MR-LSPINE, contrast: without}
      IMG2001: {protocol: CT-HEAD, contrast: without}
      IMG3100: {protocol: US-ABD}
    priorities: {S: stat, A: urgent, R: routine}
    outbound: {host: 127.0.0.1, port: 2576, receiving_application: EPIC, receiving_facility: MAINHOSP}
  - name: Radiology dictation (PowerScribe)
    sending_application: POWERSCRIBE
    sending_facility: RIVERSIDE
    mrn: {assigning_authority: MAINHOSP, identifier_type: MR}
"""

_MSH = "MSH|^~\\&|{app}|{facility}|RADFLOW|RIVERSIDE|{at}||{type}|{control}|P|2.5.1"
_ORDER = "\r".join((
    _MSH,
    "PID|1||{mrn}^^^MAINHOSP^MR||{family}^{given}||{birth}|{sex}|||12 Elm St^^Springfield^IL^62701"
    "||^PRN^PH^^1^217^{phone}",
    "PV1|1|O",
    "ORC|NW|{placer}|||||||{at}|||1234567893^Welby^Marcus^^^^^^NPI^^^^NPI",
    "TQ1|1||||||||{priority}",
    "OBR|1|{placer}||{code}^{text}^EPICPROC|||||||||{reason}",
    "DG1|1||{diagnosis}^^I10",
)) + "\r"
_UPDATE = "\r".join((
    _MSH,
    "EVN|A08|{at}",
    "PID|1||{mrn}^^^MAINHOSP^MR||{family}^{given}||{birth}|{sex}|||48 Oak Ave^^Springfield^IL^62702"
    "||^PRN^PH^^1^217^{phone}",
)) + "\r"
_REPORT = "\r".join((
    _MSH,
    "PID|1||{mrn}^^^MAINHOSP^MR||{family}^{given}||{birth}|{sex}",
    "OBR|1|{placer}|{accession}|{code}^{text}^EPICPROC|||{at}|||||||||||||||{at}|||F|||||||1982736450&Rao&Priya&&&Dr.&MD",
    "OBX|1|TX|18782-3^Radiology Study observation (narrative)^LN||{report}||||||F",
)) + "\r"


def _message(template: str, clock: FakeClock, **values: str) -> bytes:
    clock.advance(minutes=7)
    return template.format(at=clock.now().strftime("%Y%m%d%H%M%S+0000"), **values).encode()


def _send(inbound: Hl7Inbound, template: str, clock: FakeClock, **values: str) -> bytes:
    return inbound.handle(_message(template, clock, **values), "demo:epic-interface")


def seed(radflow: Radflow, clock: FakeClock, seeded: dict[str, object], console: Console) -> None:
    """Load the demo mapping and send the morning's messages through the real receiving path."""
    admin = Principal.system("demo", role=Role.ADMIN)
    try:
        radflow.bus.handle(LoadMapping(actor=admin, content=DEMO_MAPPING, source="demo mapping"))
    except RadflowError as refused:
        console.print(f"[red]HL7 demo mapping refused[/red]: {refused.message}", highlight=False)
        return
    inbound = Hl7Inbound(radflow.bus.uow_factory, radflow.ctx)
    epic = {"app": "EPIC", "facility": "MAINHOSP", "type": "ORM^O01^ORM_O01"}
    lena = {"mrn": "E100234", "family": "Schaefer", "given": "Lena", "birth": "19881122", "sex": "F",
            "phone": "5550142"}
    omar = {"mrn": "E100871", "family": "Haddad", "given": "Omar", "birth": "19610304", "sex": "M",
            "phone": "5550177"}
    order = _message(_ORDER, clock, control="EPIC-DEMO-0001", placer="PL-8001", code="IMG1234",
                     text="MRI lumbar spine w/o contrast", reason="Low back pain radiating to the left leg 6 weeks",
                     diagnosis="M54.16", priority="R", **epic, **lena)
    first = inbound.handle(order, "demo:epic-interface")
    # The interface engine lost our ACK and sends the same message again: same ACK back, nothing new.
    again = inbound.handle(order, "demo:epic-interface")
    _send(inbound, _ORDER, clock, control="EPIC-DEMO-0002", placer="PL-8002", code="IMG2001",
          text="CT head w/o contrast", reason="Sudden severe headache", diagnosis="R51.9", priority="S", **epic,
          **omar)
    _send(inbound, _UPDATE, clock, control="EPIC-DEMO-0003", **{**epic, "type": "ADT^A08^ADT_A01"},
          **{**lena, "phone": "5550199"})
    # An order for a procedure the mapping does not know: refused (AE 103) and kept for reprocessing.
    _send(inbound, _ORDER, clock, control="EPIC-DEMO-0004", placer="PL-8003", code="IMG9999",
          text="PET brain amyloid", reason="Memory loss", diagnosis="R41.3", priority="R", **epic, **omar)
    # A different order under a control id used before: held for review.
    _send(inbound, _ORDER, clock, control="EPIC-DEMO-0002", placer="PL-8004", code="IMG3100",
          text="US abdomen", reason="Right upper quadrant pain", diagnosis="R10.11", priority="R", **epic, **omar)
    with radflow.uow() as uow:
        ordered = uow.orders.by_placer("EPIC^MAINHOSP", "PL-8002")
    if ordered:
        _send(inbound, _REPORT, clock, app="POWERSCRIBE", facility="RIVERSIDE", type="ORU^R01^ORU_R01",
              control="PS-DEMO-0001", placer="PL-8002", accession=ordered[0].accession_number, code="IMG2001",
              text="CT head w/o contrast", report="No acute intracranial abnormality (outside reading).", **omar)
    seeded["hl7_orders"] = [o.id for o in ordered]
    console.print(f"HL7: demo mapping loaded, 7 messages received (a retry answered with the same ACK: "
                  f"{first == again}), one refused and one held for review on /hl7", highlight=False)
