"""`radflow demo`: seed a demo center — users for every role, referrers, patients, orders in every state.

Safe to run again: a second run finds the demo users and only prints the logins. The orders are made
through the real services, with a clock that starts a week ago, so the timelines and queue ages read
like a real week at the front desk.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from rich.console import Console
from rich.table import Table

from radflow.adapters.db.migrate import upgrade
from radflow.bootstrap import Radflow, bootstrap
from radflow.config import Settings
from radflow.domain.clock import FakeClock
from radflow.domain.users import Principal, Role
from radflow.domain.values import npi_check_digit
from radflow.services import authorizations as auth
from radflow.services.accounts import CreateUser, create_user
from radflow.services.order_changes import AssignProtocol, CancelOrder, SupplyDocumentation
from radflow.services.orders import OrderLine, ReceivedReferral, ReceiveReferral
from radflow.services.patients import AddCoverage, RegisteredPatient, RegisterPatient


def demo_npi(stem: str) -> str:
    """A well-formed NPI (valid check digit) from nine digits."""
    return f"{stem}{npi_check_digit(stem)}"


@dataclass(frozen=True)
class DemoUser:
    """One demo login."""

    username: str
    display_name: str
    role: Role
    npi: str = ""
    section_chief: bool = False
    lead_technologist: bool = False

    @property
    def password(self) -> str:
        """The demo password (printed; change it in a real center)."""
        return f"{self.username}-demo-2026"


REFERRER_NPI = demo_npi("123456789")
COVERING_NPI = demo_npi("198765432")
RADIOLOGIST_NPI = demo_npi("156789012")
CHIEF_NPI = demo_npi("167890123")

USERS = (
    DemoUser("admin", "Alex Admin", Role.ADMIN),
    DemoUser("manager", "Morgan Manager", Role.MANAGER),
    DemoUser("intake", "Ines Intake", Role.INTAKE),
    DemoUser("auth", "Avery Authorization", Role.AUTHORIZATION),
    DemoUser("scheduler", "Sam Scheduler", Role.SCHEDULER),
    DemoUser("frontdesk", "Frankie Frontdesk", Role.FRONT_DESK),
    DemoUser("tech", "Taylor Technologist", Role.TECHNOLOGIST, lead_technologist=True),
    DemoUser("rad", "Dr. Riley Radiologist", Role.RADIOLOGIST, npi=RADIOLOGIST_NPI),
    DemoUser("chief", "Dr. Casey Chief", Role.RADIOLOGIST, npi=CHIEF_NPI, section_chief=True),
    DemoUser("drwho", "Dr. Robin Referrer", Role.REFERRING_PROVIDER, npi=REFERRER_NPI),
    DemoUser("drcover", "Dr. Quinn Covering", Role.REFERRING_PROVIDER, npi=COVERING_NPI),
    DemoUser("interface", "EHR interface", Role.INTEGRATION),
)

#: Seeding steps of later areas, run in order after the foundation's: (module, function); each function
#: gets the wired app, the fake clock, and a dict of what was seeded so far (it may add to it).
DemoStep = Callable[[Radflow, FakeClock, dict[str, object], Console], None]
# The week's history comes first (HL7 traffic, the reading room, results); then the clock is brought to
# the present, so that the bookings lie ahead and "today" on the exam-day screens is the real today.
EXTRA_STEPS: tuple[tuple[str, str], ...] = (
    ("radflow.entrypoints.demo_hl7", "seed"),
    ("radflow.entrypoints.demo_reporting", "seed"),
    ("radflow.entrypoints.demo_results", "seed"),
    ("radflow.entrypoints.demo", "to_the_present"),
    ("radflow.entrypoints.demo_scheduling", "seed"),
    ("radflow.entrypoints.demo_exam_day", "seed"),
)


def to_the_present(radflow: Radflow, clock: FakeClock, seeded: dict[str, object], console: Console) -> None:
    """Bring the demo's clock to the wall clock (never back): what follows happens today."""
    clock.set(max(clock.now(), datetime.now(UTC)))


def _extra_steps() -> list[DemoStep]:
    steps: list[DemoStep] = []
    for module_name, attribute in EXTRA_STEPS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as missing:
            if not missing.name or not module_name.startswith(missing.name):
                raise
            continue
        steps.append(getattr(module, attribute))
    return steps


def _principals(radflow: Radflow) -> dict[str, Principal]:
    with radflow.uow() as uow:
        found = {u.username: uow.users.by_username(u.username) for u in USERS}
    return {name: user.principal("demo") for name, user in found.items() if user is not None}


def _create_users(radflow: Radflow) -> None:
    admin = Principal.system("demo", role=Role.ADMIN)
    for user in USERS:
        create_user(CreateUser(actor=admin, username=user.username, display_name=user.display_name,
                               role=user.role.value, password=user.password, npi=user.npi,
                               is_section_chief=user.section_chief, is_lead_technologist=user.lead_technologist,
                               covers_npis=(REFERRER_NPI,) if user.username == "drcover" else ()),
                    radflow.uow(), radflow.ctx, radflow.hasher)


PATIENTS = (
    ("Rivera", "Maria", date(1968, 4, 12), "F", "555-201-0001", "aetna_commercial"),
    ("Chen", "Wei", date(1955, 9, 30), "M", "555-201-0002", "medicare_part_b"),
    ("Okafor", "Chinedu", date(1982, 1, 5), "M", "555-201-0003", "uhc_commercial"),
    ("Novak", "Anna", date(1990, 7, 21), "F", "555-201-0004", "cigna_commercial"),
    ("Haddad", "Layla", date(1975, 11, 2), "F", "555-201-0005", "texas_medicaid"),
    ("Schmidt", "Jürgen", date(1949, 3, 17), "M", "555-201-0006", "anthem_bcbs"),
    ("Brown", "Ethan", date(2001, 6, 8), "M", "555-201-0007", "self_pay"),
    ("Garcia", "Sofia", date(1963, 12, 24), "F", "555-201-0008", "aetna_commercial"),
)


def _line(protocol: str, coverage: str | None, **changes: object) -> OrderLine:
    base: dict[str, object] = dict(
        protocol_code=protocol, reason_for_exam="Persistent symptoms for 6 weeks despite conservative care",
        diagnosis_codes=("M54.16",), ordering_provider_npi=REFERRER_NPI, ordering_provider_name="Dr. Robin Referrer",
        coverage_id=coverage, self_pay=coverage is None)
    base.update(changes)
    return OrderLine(**base)  # type: ignore[arg-type]


def _seed_orders(radflow: Radflow, people: dict[str, Principal], clock: FakeClock) -> dict[str, object]:
    bus, intake, authorizer, radiologist = radflow.bus, people["intake"], people["auth"], people["rad"]
    patients: list[tuple[str, str | None]] = []
    for family, given, birth, sex, phone, payer in PATIENTS:
        registered: RegisteredPatient = bus.handle(RegisterPatient(
            actor=intake, family_name=family, given_name=given, birth_date=birth,
            sex=sex, phone=phone, email=f"{given.lower()}@example.org"))
        coverage: str | None = None
        if payer != "self_pay":
            coverage = bus.handle(AddCoverage(actor=intake, patient_id=registered.patient_id, payer_id=payer,
                                              member_id=f"M{registered.mrn[-5:]}"))
        patients.append((registered.patient_id, coverage))
        clock.advance(minutes=17)

    def refer(index: int, *lines: OrderLine) -> list[str]:
        pid, _ = patients[index]
        result: ReceivedReferral = bus.handle(ReceiveReferral(actor=intake, patient_id=pid, channel="fax", lines=lines,
                                            source_organization="Riverside Family Practice",
                                            source_provider_name="Dr. Robin Referrer",
                                            source_provider_npi=REFERRER_NPI, reply_fax="555-300-4000"))
        clock.advance(hours=3)
        return list(result.order_ids)

    cov = [c for _, c in patients]
    # MRI lumbar spine, complete: protocolled, authorized -> ready to schedule
    mr_ready = refer(0, _line("MR-LSPINE", cov[0]))[0]
    bus.handle(AssignProtocol(actor=radiologist, order_id=mr_ready, contrast="without",
                              special_instructions="Sagittal STIR added"))
    bus.handle(auth.SubmitAuthorization(actor=authorizer, order_id=mr_ready, payer_reference="EVI-77120"))
    clock.advance(days=1)
    bus.handle(auth.ApproveAuthorization(actor=authorizer, order_id=mr_ready, authorization_number="A9981234"))
    # CT missing its diagnosis code -> awaiting documentation, then supplied
    ct_docs = refer(1, _line("CT-CHEST", cov[1], contrast="with", diagnosis_codes=()))[0]
    ct_fixed = refer(2, _line("CT-ABDPEL", cov[2], contrast="with", diagnosis_codes=()))[0]
    clock.advance(hours=20)
    bus.handle(SupplyDocumentation(actor=intake, order_id=ct_fixed, diagnosis_codes=("R10.31",),
                                   note="Code phoned in by the office"))
    # waiting for protocol, pending authorization (submitted and not), denied, cancelled, self-pay ready
    refer(3, _line("MR-BRAIN", cov[3], reason_for_exam="New onset seizures"))
    mr_knee = refer(4, _line("MR-KNEE", cov[4], laterality="R", diagnosis_codes=("M23.91",)))[0]
    bus.handle(AssignProtocol(actor=radiologist, order_id=mr_knee, contrast="without"))
    ct_sub = refer(5, _line("CT-HEAD", cov[5], contrast="without", diagnosis_codes=("R51.9",)))[0]
    pet = refer(7, _line("PT-FDG", cov[7], diagnosis_codes=("C34.90",), reason_for_exam="Staging of lung mass"))[0]
    bus.handle(AssignProtocol(actor=radiologist, order_id=pet, contrast="tracer"))
    if _state(radflow, pet) == "pending_authorization":
        bus.handle(auth.SubmitAuthorization(actor=authorizer, order_id=pet, payer_reference="AIM-5531"))
        bus.handle(auth.DenyAuthorization(actor=authorizer, order_id=pet,
                                          reason="Not medically necessary per guideline: request peer-to-peer"))
    cancelled = refer(6, _line("DX-CHEST", None, diagnosis_codes=("R05.9",), reason_for_exam="Cough 3 weeks"))[0]
    bus.handle(CancelOrder(actor=intake, order_id=cancelled, reason="Patient had the x-ray at urgent care"))
    refer(6, _line("US-ABD", None, diagnosis_codes=("R10.11",), reason_for_exam="Right upper quadrant pain"))
    return {"patients": patients, "mr_ready": mr_ready, "ct_waiting": ct_docs, "ct_fixed": ct_fixed,
            "ct_head": ct_sub, "pet_denied": pet}


def _state(radflow: Radflow, order_id: str) -> str:
    with radflow.uow() as uow:
        return uow.orders.get(order_id).state.value


def seed_demo(settings: Settings, console: Console) -> None:
    """Migrate, seed once, and print URLs and logins."""
    clock = FakeClock(datetime.now(UTC) - timedelta(days=7))  # demo data only: a week of history
    radflow = bootstrap(settings, clock=clock)
    upgrade(radflow.engine, schema=settings.database_schema)
    people = _principals(radflow)
    if "admin" not in people:
        _create_users(radflow)
        people = _principals(radflow)
        seeded = _seed_orders(radflow, people, clock)
        for step in _extra_steps():
            step(radflow, clock, seeded, console)
        console.print("[green]demo center seeded[/green]")
    else:
        console.print("demo center already seeded; logins below")
    table = Table(title=f"{settings.center_name}: demo logins")
    for column in ("user", "password", "role"):
        table.add_column(column)
    for user in USERS:
        role = user.role.value + (" (section chief)" if user.section_chief else "") + \
            (" (lead)" if user.lead_technologist else "")
        table.add_row(user.username, user.password, role)
    console.print(table)
    base = f"http://{settings.http_host}:{settings.http_port}"
    console.print(f"screens  {base}/\nREST API {base}/api  (OpenAPI: {base}/docs)\nFHIR R4  {base}/fhir/metadata\n"
                  f"HL7 MLLP {settings.mllp_host}:{settings.mllp_port}\n"
                  f"DICOM    {settings.dicom_host}:{settings.dicom_port} AE {settings.dicom_aet}")
