"""SQL repositories of scheduling: appointments (ORM-mapped aggregate), capacity and plans (Core rows)."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, Text, bindparam, cast, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, registry

from radflow.adapters.db import scheduling_tables as st
from radflow.adapters.db import tables as t
from radflow.domain.appointment import Appointment, AppointmentState
from radflow.domain.capacity.model import Closure, Scanner, Site
from radflow.domain.errors import Conflict, NotFound
from radflow.domain.lifecycle import OrderState
from radflow.domain.order import Order
from radflow.domain.patient import Patient
from radflow.domain.protocols import Modality
from radflow.scheduling.capacity_document import read_scanner, read_site, scanner_document, site_document
from radflow.scheduling.plans import LineStatus, PlanLine, ProposedPlan
from radflow.services.scheduling.ports import BookedSpan, PatientBooking, PatientFacts, PatientSpan, SheetLine

A = st.scheduling_appointments


def map_scheduling(reg: registry) -> None:
    """Map the Appointment aggregate (its version column guards concurrent changes)."""
    reg.map_imperatively(Appointment, A, version_id_col=A.c.version)


def overlap_message(error: Exception) -> str | None:
    """The scheduler's words for a database overlap rule named in `error`, if it names one."""
    text = str(error)
    for rule, message in st.OVERLAP_RULES.items():
        if rule in text:
            return message
    return None


class SqlAppointments:
    """Appointments in SQL."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, appointment: Appointment) -> None:
        """Add a new appointment."""
        self.session.add(appointment)

    def get(self, appointment_id: str) -> Appointment:
        """The appointment, or NotFound."""
        found = self.session.get(Appointment, appointment_id)
        if found is None:
            raise NotFound(f"appointment '{appointment_id}' not found")
        return found

    def live_for_order(self, order_id: str) -> Appointment | None:
        """The order's booked appointment."""
        stmt = select(Appointment).where(A.c.order_id == order_id, A.c.state == AppointmentState.BOOKED.value)
        return self.session.scalars(stmt).first()

    def for_order(self, order_id: str) -> list[Appointment]:
        """Every appointment of the order, oldest booking first."""
        return list(self.session.scalars(select(Appointment).where(A.c.order_id == order_id)
                                         .order_by(A.c.booked_at)))

    def for_patient(self, patient_id: str, start: datetime, end: datetime) -> list[PatientBooking]:
        """The patient's booked and attended appointments touching [start, end), with their exams."""
        stmt = (select(Appointment, t.orders.c.protocol_code, t.orders.c.contrast)
                .join(t.orders, t.orders.c.id == A.c.order_id)
                .where(A.c.patient_id == patient_id, A.c.start < end, A.c.end > start,
                       A.c.state.in_([AppointmentState.BOOKED.value, AppointmentState.ATTENDED.value]))
                .order_by(A.c.start))
        return [PatientBooking(row[0], row[1], row[2].value if row[2] is not None else None)
                for row in self.session.execute(stmt)]

    def booked_on(self, scanner_ids: Sequence[str], start: datetime, end: datetime) -> list[BookedSpan]:
        """Booked spans on these scanners overlapping [start, end) (plain rows: the search's hot path)."""
        stmt = (select(A.c.id, A.c.scanner_id, A.c.lane, A.c.start, A.c.end)
                .where(A.c.scanner_id.in_(list(scanner_ids)), A.c.state == AppointmentState.BOOKED.value,
                       A.c.start < end, A.c.end > start))
        return [BookedSpan(*row) for row in self.session.execute(stmt)]

    def patient_spans(self, patient_id: str, start: datetime, end: datetime) -> list[PatientSpan]:
        """The patient's booked and attended exams, as epoch minutes with their protocol and contrast."""
        rows = self.session.execute(_spans_statement(_dialect(self.session)),
                                    {"patient": patient_id, "start": start, "end": end}).all()
        return [PatientSpan(r[0], r[1], r[2], int(r[3]), int(r[4]), int(r[5]), r[6] is AppointmentState.BOOKED, r[7],
                            r[8].value if r[8] is not None else None) for r in rows]

    def busy_minutes(self, scanner_ids: Sequence[str], start: datetime, end: datetime, *, lane: int | None = 0,
                     ignore: str | None = None,
                     states: Sequence[AppointmentState] = (AppointmentState.BOOKED,)) -> list[tuple[str, int, int]]:
        """Booked time in epoch minutes, computed by the database (thousands of rows: no datetime objects)."""
        stmt = _busy_statement(_dialect(self.session), lane is not None, ignore is not None)
        rows = self.session.execute(stmt, {"ids": list(scanner_ids), "states": [s.value for s in states],
                                           "start": start, "end": end, "lane": lane, "ignore": ignore}).all()
        return [(row[0], int(row[1]), int(row[2])) for row in rows]

    def day_sheet(self, start: datetime, end: datetime) -> list[SheetLine]:
        """Appointments starting in [start, end) with accession, protocol and patient name."""
        p = t.patients.c
        stmt = (select(Appointment, t.orders.c.accession_number, t.orders.c.protocol_code, p.family_name,
                       p.given_name)
                .join(t.orders, t.orders.c.id == A.c.order_id).join(t.patients, p.id == A.c.patient_id)
                .where(A.c.start >= start, A.c.start < end).order_by(A.c.scanner_id, A.c.start))
        return [SheetLine(row[0], row[1], row[2], f"{row[3].upper()}, {row[4]}") for row in self.session.execute(stmt)]

    def between(self, start: datetime, end: datetime,
                states: Sequence[AppointmentState] = ()) -> list[Appointment]:
        """Appointments starting in [start, end)."""
        stmt = select(Appointment).where(A.c.start >= start, A.c.start < end)
        if states:
            stmt = stmt.where(A.c.state.in_([s.value for s in states]))
        return list(self.session.scalars(stmt.order_by(A.c.start, A.c.scanner_id)))

    def flush(self) -> None:
        """Flush now so that the overlap rules run inside the caller's try block."""
        try:
            self.session.flush()
        except IntegrityError as error:
            message = overlap_message(error)
            self.session.rollback()
            raise Conflict(message or "the database refused the booking") from error
        except OperationalError as error:
            # Two bookings checking the exclusion rules against each other's rows (a scanner lane and
            # a patient) can deadlock; PostgreSQL aborts one of them (SQLSTATE 40P01).
            if "deadlock" not in str(error).lower():
                raise
            self.session.rollback()
            raise Conflict("another booking for this scanner time or this patient was made at the same moment; "
                           "search again") from error


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _epoch_minutes(column: Any, dialect: str) -> Any:
    """Whole minutes since the Unix epoch of a UTC timestamp column, on either database."""
    if dialect == "postgresql":
        return cast(func.floor(func.extract("epoch", column) / 60), Integer)
    # SQLite keeps naive UTC text; strftime('%s') reads it as UTC.
    return cast(func.strftime("%s", column), Integer) / 60


# The slot search's statements are built once per dialect (building them is a good part of a search's
# CPU); they take their values as bind parameters.
@lru_cache(maxsize=8)
def _busy_statement(dialect: str, with_lane: bool, with_ignore: bool) -> Any:
    stmt = (select(A.c.scanner_id, _epoch_minutes(A.c.start, dialect), _epoch_minutes(A.c.end, dialect))
            .where(A.c.scanner_id.in_(bindparam("ids", expanding=True)), A.c.state.in_(bindparam("states",
                                                                                             expanding=True)),
                   A.c.start < bindparam("end"), A.c.end > bindparam("start")))
    if with_lane:
        stmt = stmt.where(A.c.lane == bindparam("lane"))
    if with_ignore:
        stmt = stmt.where(A.c.id != bindparam("ignore"))
    return stmt


@lru_cache(maxsize=4)
def _spans_statement(dialect: str) -> Any:
    minutes = [_epoch_minutes(column, dialect) for column in (A.c.patient_from, A.c.start, A.c.end)]
    return (select(A.c.order_id, A.c.scanner_id, A.c.site_id, *minutes, A.c.state, t.orders.c.protocol_code,
                   t.orders.c.contrast)
            .join(t.orders, t.orders.c.id == A.c.order_id)
            .where(A.c.patient_id == bindparam("patient"), A.c.start < bindparam("end"), A.c.end > bindparam("start"),
                   A.c.state.in_([AppointmentState.BOOKED.value, AppointmentState.ATTENDED.value])))


_SCANNER_JSON = ("capabilities", "informative", "opening", "shifts", "reserved")


def _as_text(table: Any, json_columns: tuple[str, ...]) -> list[Any]:
    """The table's columns, its JSON ones read as their text (hashable, and parsed only once)."""
    return [cast(c, Text).label(c.name) if c.name in json_columns else c for c in table.c]


@lru_cache(maxsize=512)
def _scanner_of(row: tuple[tuple[str, Any], ...]) -> Scanner:
    # Memoized on the row's whole content: an edited scanner is a new key, so no process ever
    # sees a stale calendar (DESIGN §4); parsing dozens of periods per search is what it saves.
    document = {k: json.loads(v) if k in _SCANNER_JSON and isinstance(v, str) else v for k, v in row}
    return read_scanner(document)


@lru_cache(maxsize=128)
def _site_of(row: tuple[tuple[str, Any], ...]) -> Site:
    return read_site({k: json.loads(v) if k == "supervision" and isinstance(v, str) else v for k, v in row})


def _scanner(row: Any) -> Scanner:
    return _scanner_of(tuple(row.items()))


def _site(row: Any) -> Site:
    return _site_of(tuple(row.items()))


class SqlCapacity:
    """Sites, scanners and closures in SQL (calendars as JSON documents)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def sites(self) -> list[Site]:
        """Every site, by id."""
        stmt = select(*_as_text(st.scheduling_sites, ("supervision",))).order_by(st.scheduling_sites.c.id)
        return [_site(row) for row in self.session.execute(stmt).mappings()]

    def scanners(self, modalities: Collection[Modality] = ()) -> list[Scanner]:
        """Every scanner (of these modalities, when given), by id."""
        stmt = select(*_as_text(st.scheduling_scanners, _SCANNER_JSON)).order_by(st.scheduling_scanners.c.id)
        if modalities:
            stmt = stmt.where(st.scheduling_scanners.c.modality.in_([m.value for m in modalities]))
        return [_scanner(row) for row in self.session.execute(stmt).mappings()]

    def site(self, site_id: str) -> Site:
        """One site."""
        row = self.session.execute(select(*_as_text(st.scheduling_sites, ("supervision",)))
                                   .where(st.scheduling_sites.c.id == site_id)).mappings().first()
        if row is None:
            raise NotFound(f"site '{site_id}' not found", field="site_id")
        return _site(row)

    def scanner(self, scanner_id: str) -> Scanner:
        """One scanner."""
        row = self.session.execute(select(*_as_text(st.scheduling_scanners, _SCANNER_JSON))
                                   .where(st.scheduling_scanners.c.id == scanner_id)).mappings().first()
        if row is None:
            raise NotFound(f"scanner '{scanner_id}' not found", field="scanner_id")
        return _scanner(row)

    def _upsert(self, table: Any, values: dict[str, Any]) -> None:
        exists = self.session.execute(select(table.c.id).where(table.c.id == values["id"])).first()
        if exists:
            self.session.execute(update(table).where(table.c.id == values["id"]).values(**values))
        else:
            self.session.execute(insert(table).values(**values))

    def save_site(self, site: Site) -> None:
        """Add or replace a site."""
        self._upsert(st.scheduling_sites, site_document(site))

    def save_scanner(self, scanner: Scanner) -> None:
        """Add or replace a scanner."""
        self._upsert(st.scheduling_scanners, scanner_document(scanner))

    def closures_between(self, start: datetime, end: datetime) -> list[Closure]:
        """Closures overlapping [start, end)."""
        c = st.scheduling_closures.c
        rows = self.session.execute(select(st.scheduling_closures).where(c.start < end, c.end > start)
                                    .order_by(c.start)).mappings()
        return [Closure(id=r["id"], kind=r["kind"], start=r["start"], end=r["end"], site_id=r["site_id"],
                        scanner_id=r["scanner_id"], reason=r["reason"]) for r in rows]

    def add_closure(self, closure: Closure, *, by: str, at: datetime) -> None:
        """Record a closure."""
        self.session.execute(insert(st.scheduling_closures).values(
            id=closure.id, kind=closure.kind, start=closure.start, end=closure.end, site_id=closure.site_id,
            scanner_id=closure.scanner_id, reason=closure.reason, created_by=by, created_at=at))

    def remove_closure(self, closure_id: str) -> Closure:
        """Delete a closure and return it."""
        c = st.scheduling_closures.c
        row = self.session.execute(select(st.scheduling_closures).where(c.id == closure_id)).mappings().first()
        if row is None:
            raise NotFound(f"closure '{closure_id}' not found")
        self.session.execute(delete(st.scheduling_closures).where(c.id == closure_id))
        return Closure(id=row["id"], kind=row["kind"], start=row["start"], end=row["end"], site_id=row["site_id"],
                       scanner_id=row["scanner_id"], reason=row["reason"])


_ORDER_ROW = select(t.orders).where(t.orders.c.id == bindparam("id"))


class SqlBacklog:
    """The backlog of orders ready to schedule, and proposed plans."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def ready_orders(self, limit: int) -> list[Order]:
        """Orders in `ready_to_schedule`, oldest target first."""
        stmt = (select(Order).where(t.orders.c.state == OrderState.READY_TO_SCHEDULE.value)
                .order_by(t.orders.c.target_at).limit(limit))
        return list(self.session.scalars(stmt))

    def patients(self, patient_ids: Sequence[str]) -> dict[str, Patient]:
        """Patients by id."""
        if not patient_ids:
            return {}
        found = self.session.scalars(select(Patient).where(t.patients.c.id.in_(list(set(patient_ids)))))
        return {p.id: p for p in found}

    def patient_facts(self, patient_id: str) -> PatientFacts | None:
        """Birth date and preferred language, without loading the whole record."""
        row = self.session.execute(select(t.patients.c.birth_date, t.patients.c.preferred_language)
                                   .where(t.patients.c.id == patient_id)).first()
        return PatientFacts(row[0], row[1]) if row else None

    def order_snapshot(self, order_id: str) -> Order:
        """A detached copy of the order's row (no timeline): cheaper than the aggregate for reading."""
        row = self.session.execute(_ORDER_ROW, {"id": order_id}).mappings().first()
        if row is None:
            raise NotFound(f"order '{order_id}' not found")
        fields = Order.__dataclass_fields__
        return Order(**{k: v for k, v in row.items() if k in fields}, transitions=[])

    def received_since(self, start: datetime) -> list[tuple[datetime, str, str | None]]:
        """(received at, protocol, contrast) of the orders received since `start`."""
        o = t.orders.c
        rows = self.session.execute(select(o.received_at, o.protocol_code, o.contrast).where(o.received_at >= start))
        return [(row[0], row[1], row[2].value if row[2] is not None else None) for row in rows]

    def add(self, plan: ProposedPlan) -> None:
        """Store a plan and its lines."""
        self.session.execute(insert(st.scheduling_plans).values(
            id=plan.id, created_at=plan.created_at, created_by=plan.created_by, policy=plan.policy,
            horizon_start=plan.horizon_start, horizon_end=plan.horizon_end, seconds=plan.seconds,
            summary=plan.summary))
        if plan.lines:
            self.session.execute(insert(st.scheduling_plan_lines), [
                {**_line_values(line), "plan_id": plan.id} for line in plan.lines])

    def get(self, plan_id: str) -> ProposedPlan:
        """A plan with its lines."""
        row = self.session.execute(select(st.scheduling_plans).where(st.scheduling_plans.c.id == plan_id)
                                   ).mappings().first()
        if row is None:
            raise NotFound(f"plan '{plan_id}' not found")
        plan = _plan(row)
        lines = self.session.execute(select(st.scheduling_plan_lines)
                                     .where(st.scheduling_plan_lines.c.plan_id == plan_id)
                                     .order_by(st.scheduling_plan_lines.c.start, st.scheduling_plan_lines.c.id))
        plan.lines = [PlanLine(order_id=r["order_id"], patient_id=r["patient_id"], track=r["track"],
                               scanner_id=r["scanner_id"], site_id=r["site_id"], start=r["start"], end=r["end"],
                               on_time=r["on_time"], status=LineStatus(r["status"]),
                               appointment_id=r["appointment_id"], message=r["message"], id=r["id"])
                      for r in lines.mappings()]
        return plan

    def recent(self, limit: int) -> list[ProposedPlan]:
        """The newest plans, without lines."""
        rows = self.session.execute(select(st.scheduling_plans).order_by(st.scheduling_plans.c.created_at.desc())
                                    .limit(limit)).mappings()
        return [_plan(row) for row in rows]

    def save_line(self, plan_id: str, line: PlanLine) -> None:
        """Store a line's status, message and appointment."""
        lines = st.scheduling_plan_lines.c
        self.session.execute(update(st.scheduling_plan_lines)
                             .where(lines.plan_id == plan_id, lines.order_id == line.order_id)
                             .values(status=line.status.value, message=line.message,
                                     appointment_id=line.appointment_id))


def _line_values(line: PlanLine) -> dict[str, Any]:
    return {"order_id": line.order_id, "patient_id": line.patient_id, "track": line.track,
            "scanner_id": line.scanner_id, "site_id": line.site_id, "start": line.start, "end": line.end,
            "on_time": line.on_time, "status": line.status.value, "appointment_id": line.appointment_id,
            "message": line.message}


def _plan(row: Any) -> ProposedPlan:
    return ProposedPlan(id=row["id"], created_at=row["created_at"], created_by=row["created_by"],
                        policy=row["policy"], horizon_start=row["horizon_start"], horizon_end=row["horizon_end"],
                        seconds=row["seconds"], summary=dict(row["summary"] or {}))
