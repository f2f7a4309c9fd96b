"""Check-in: the patient arrives and the desk confirms who, what, who pays, and what was consented.

Rules, each checked by `CheckIn.blockers` before the order may move to `checked_in`:

- identity with two identifiers of different kinds, each matching the record (The Joint
  Commission NPSG.01.01.01: at least two patient identifiers; never the room or location);
- coverage confirmed against the coverage on file now — a confirmation of another coverage, or of
  the same one before its payer or member id changed, no longer counts;
- the exam ordered compared with the exam scheduled — any difference blocks until someone resolves
  it (with who and why recorded);
- consent per exam type (contrast, sedation) by patient signature or staff attestation, as the
  center's consent rules say (data, read by `required_consents`);
- a payment or benefit note (what the patient was told they owe), when the rules ask for one.

Pure: the services give the facts (patient record, coverage on file, rules); nothing here does I/O.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Final

from radflow.domain.aggregate import Aggregate
from radflow.domain.errors import Conflict, InvalidTransition, ValidationError
from radflow.domain.events import DomainEvent


class IdentifierKind(StrEnum):
    """Patient identifiers a desk may use (NPSG.01.01.01 examples; a room or location is never one)."""

    FULL_NAME = "full_name"
    BIRTH_DATE = "birth_date"
    MRN = "mrn"
    PHONE = "phone"
    POSTAL_CODE = "postal_code"


@dataclass(frozen=True)
class PatientFacts:
    """What the record says, to compare the identifiers the patient gives with."""

    family_name: str
    given_name: str
    birth_date: date
    mrn: str
    phone: str = ""
    postal_code: str = ""


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isalnum()).upper()


def _matches(kind: IdentifierKind, given: str, record: PatientFacts) -> bool:
    value = given.strip()
    if not value:
        return False
    match kind:
        case IdentifierKind.FULL_NAME:
            # Either order ("Jane Smith" or "Smith, Jane"); case, accents and punctuation do not count.
            folded = _fold(value)
            family, given_name = _fold(record.family_name), _fold(record.given_name)
            return folded in (given_name + family, family + given_name)
        case IdentifierKind.BIRTH_DATE:
            try:
                return date.fromisoformat(value) == record.birth_date
            except ValueError:
                return False
        case IdentifierKind.MRN:
            return value.upper() == record.mrn.upper()
        case IdentifierKind.PHONE:
            digits = "".join(c for c in value if c.isdigit())
            on_file = "".join(c for c in record.phone if c.isdigit())
            return len(digits) >= 7 and bool(on_file) and on_file.endswith(digits[-10:])
        case IdentifierKind.POSTAL_CODE:
            return bool(record.postal_code) and _fold(value) == _fold(record.postal_code)
    return False  # pragma: no cover - exhaustive match


def identity_problems(given: Mapping[IdentifierKind, str], record: PatientFacts) -> list[str]:
    """What is wrong with the identifiers given; empty when two kinds match the record."""
    problems = [f"{kind.value.replace('_', ' ')} does not match the record"
                for kind, value in given.items() if value.strip() and not _matches(kind, value, record)]
    matched = [kind for kind, value in given.items() if _matches(kind, value, record)]
    if len(matched) < 2:
        problems.append("confirm two identifiers of different kinds (e.g. full name and birth date)")
    return problems


@dataclass(frozen=True)
class CoverageFacts:
    """The coverage an order will bill, as it is on file now."""

    coverage_id: str
    payer_id: str
    member_id: str
    active: bool = True

    @property
    def fingerprint(self) -> str:
        """What a confirmation was about; a change in any part needs a new confirmation."""
        return f"{self.coverage_id}|{self.payer_id}|{self.member_id}"


def coverage_problem(confirmed_fingerprint: str, current: CoverageFacts | None, *, self_pay: bool) -> str | None:
    """Why coverage is not confirmed for today, or None when it is."""
    if self_pay:
        return None
    if current is None:
        return "no coverage on file: add the patient's insurance or mark the order self-pay"
    if not current.active:
        return "the coverage on file is inactive: update it or mark the order self-pay"
    if not confirmed_fingerprint:
        return "confirm the coverage with the patient's insurance card"
    if confirmed_fingerprint != current.fingerprint:
        return "the coverage changed since it was confirmed: confirm it again"
    return None


@dataclass(frozen=True)
class ExamFacts:
    """An exam as ordered or as scheduled: enough to see that they are the same exam."""

    protocol_code: str
    modality: str
    contrast: str = ""
    laterality: str = ""
    body_part: str = ""


@dataclass(frozen=True)
class Mismatch:
    """One way the scheduled exam differs from the exam ordered."""

    attribute: str
    ordered: str
    scheduled: str

    def describe(self) -> str:
        """A sentence for the desk."""
        return (f"{self.attribute.replace('_', ' ')}: ordered {self.ordered or 'none'}, "
                f"scheduled {self.scheduled or 'none'}")


def compare_exams(ordered: ExamFacts, scheduled: ExamFacts) -> tuple[Mismatch, ...]:
    """Every attribute in which the scheduled exam differs from the ordered one."""
    return tuple(
        Mismatch(name, str(getattr(ordered, name)), str(getattr(scheduled, name)))
        for name in ("protocol_code", "modality", "contrast", "laterality", "body_part")
        if str(getattr(ordered, name) or "") != str(getattr(scheduled, name) or "")
    )


class ConsentKind(StrEnum):
    """Consents an exam may need at check-in."""

    CONTRAST = "contrast"
    SEDATION = "sedation"


class ConsentMethod(StrEnum):
    """How the consent was given."""

    PATIENT_SIGNATURE = "patient_signature"
    STAFF_ATTESTATION = "staff_attestation"  # verbal consent witnessed and attested by staff


@dataclass(frozen=True)
class ConsentRule:
    """When a consent is needed (contrast classes and routes, or sedation), and the policy it comes from."""

    kind: ConsentKind
    source: str
    contrast_agents: frozenset[str] = frozenset()
    routes: frozenset[str] = frozenset()
    when_sedation: bool = False

    def applies(self, contrast_agent: str, route: str, sedation: bool) -> bool:
        """Whether this exam needs the consent."""
        if self.when_sedation:
            return sedation
        return contrast_agent in self.contrast_agents and (not self.routes or route in self.routes)


def required_consents(rules: Iterable[ConsentRule], *, contrast_agent: str, route: str,
                      sedation: bool) -> frozenset[ConsentKind]:
    """The consents this exam needs under the center's rules."""
    return frozenset(rule.kind for rule in rules if rule.applies(contrast_agent, route, sedation))


@dataclass(frozen=True, kw_only=True)
class PatientCheckedIn(DomainEvent):
    """The patient was checked in for an order (identity, coverage, exam and consents confirmed)."""

    order_id: str
    patient_id: str
    appointment_id: str


class CheckInState(StrEnum):
    """Where a check-in stands."""

    OPEN = "open"
    CHECKED_IN = "checked_in"
    LEFT = "left"  # the patient left before the exam


CHECKIN_TRANSITIONS: Final[Mapping[tuple[CheckInState, str], CheckInState]] = {
    (CheckInState.OPEN, "complete"): CheckInState.CHECKED_IN,
    (CheckInState.OPEN, "leave"): CheckInState.LEFT,
    (CheckInState.CHECKED_IN, "leave"): CheckInState.LEFT,
    (CheckInState.LEFT, "reopen"): CheckInState.OPEN,  # the patient came back the same day
}


@dataclass(eq=False)
class CheckIn(Aggregate):
    """One arrival for one order: what the desk confirmed, by whom, and when."""

    id: str
    order_id: str
    patient_id: str
    appointment_id: str
    state: CheckInState
    opened_at: datetime
    opened_by: str
    identity: list[dict[str, Any]] = field(default_factory=list)
    coverage_confirmed: str = ""  # the CoverageFacts fingerprint confirmed
    coverage_confirmed_by: str = ""
    coverage_confirmed_at: datetime | None = None
    consents: list[dict[str, Any]] = field(default_factory=list)
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    mismatch_resolution: dict[str, Any] = field(default_factory=dict)
    payment_note: str = ""
    checked_in_at: datetime | None = None
    checked_in_by: str = ""
    version: int = 1
    log: list[dict[str, Any]] = field(default_factory=list)

    def _apply(self, event: str, *, by: str, at: datetime, note: str = "") -> None:
        target = CHECKIN_TRANSITIONS.get((self.state, event))
        if target is None:
            raise InvalidTransition(self.state.value, event, aggregate="check-in")
        self.log = [*self.log, {"at": at.isoformat(), "by": by, "event": event, "from": self.state.value,
                                "to": target.value, "note": note}]
        self.state = target

    def confirm_identity(self, given: Mapping[IdentifierKind, str], record: PatientFacts, *, by: str,
                         at: datetime) -> None:
        """Record the identifiers confirmed; ValidationError says what does not match."""
        problems = identity_problems(given, record)
        if problems:
            raise ValidationError("; ".join(problems), field="identity")
        # The values are in the record already: keep only which kinds were confirmed, by whom.
        self.identity = [{"kinds": sorted(k.value for k, v in given.items() if v.strip()), "by": by,
                          "at": at.isoformat()}]

    def confirm_coverage(self, current: CoverageFacts, *, by: str, at: datetime) -> None:
        """The desk saw the insurance card: this coverage, as on file now, is confirmed."""
        if not current.active:
            raise ValidationError("the coverage on file is inactive: update it first", field="coverage")
        self.coverage_confirmed = current.fingerprint
        self.coverage_confirmed_by, self.coverage_confirmed_at = by, at

    def compare(self, ordered: ExamFacts, scheduled: ExamFacts) -> tuple[Mismatch, ...]:
        """Compare the exams and keep the differences (an earlier resolution covers only those it saw)."""
        found = compare_exams(ordered, scheduled)
        as_json = [{"attribute": m.attribute, "ordered": m.ordered, "scheduled": m.scheduled} for m in found]
        if as_json != self.mismatches:
            self.mismatch_resolution = {}
        self.mismatches = as_json
        return found

    def resolve_mismatch(self, note: str, *, by: str, at: datetime) -> None:
        """Someone checked the difference (with the ordering provider or the radiologist) and says why it stands."""
        if not self.mismatches:
            raise Conflict("the ordered and scheduled exams agree: nothing to resolve")
        if not note.strip():
            raise ValidationError("say how the difference was resolved and with whom", field="resolution")
        self.mismatch_resolution = {"note": note.strip(), "by": by, "at": at.isoformat()}

    def record_consent(self, kind: ConsentKind, method: ConsentMethod, *, by: str, at: datetime,
                       signer_name: str = "", witness: str = "") -> None:
        """A consent was given: the patient signed, or staff attested verbal consent."""
        if method is ConsentMethod.PATIENT_SIGNATURE and not signer_name.strip():
            raise ValidationError("a signed consent names who signed (patient or legal representative)",
                                  field="signer_name")
        if method is ConsentMethod.STAFF_ATTESTATION and not witness.strip():
            raise ValidationError("an attested consent names the staff member who witnessed it", field="witness")
        kept = [c for c in self.consents if c["kind"] != kind.value]
        self.consents = [*kept, {"kind": kind.value, "method": method.value, "signer_name": signer_name.strip(),
                                 "witness": witness.strip(), "by": by, "at": at.isoformat()}]

    def note_payment(self, note: str) -> None:
        """What the patient was told about their payment or benefits."""
        self.payment_note = note.strip()

    def blockers(self, *, coverage: CoverageFacts | None, self_pay: bool, consents_needed: frozenset[ConsentKind],
                 payment_note_required: bool) -> list[str]:
        """Everything still standing between the patient and `checked_in`."""
        found: list[str] = []
        if not self.identity:
            found.append("identity not confirmed with two identifiers")
        problem = coverage_problem(self.coverage_confirmed, coverage, self_pay=self_pay)
        if problem:
            found.append(problem)
        if self.mismatches and not self.mismatch_resolution:
            found.append("the scheduled exam differs from the order ("
                         + "; ".join(Mismatch(**m).describe() for m in self.mismatches)
                         + "): resolve it before check-in")
        given = {c["kind"] for c in self.consents}
        for kind in sorted(consents_needed - {ConsentKind(k) for k in given}, key=lambda k: k.value):
            found.append(f"{kind.value} consent not recorded")
        if payment_note_required and not self.payment_note:
            found.append("record what the patient was told about payment or benefits")
        return found

    def complete(self, *, by: str, at: datetime, blockers: list[str]) -> None:
        """Check the patient in; refused while anything blocks it."""
        if blockers:
            raise ValidationError("cannot check in yet: " + "; ".join(blockers), field="checkin")
        self._apply("complete", by=by, at=at)
        self.checked_in_at, self.checked_in_by = at, by
        self.record(PatientCheckedIn(at=at, by=by, order_id=self.order_id, patient_id=self.patient_id,
                                     appointment_id=self.appointment_id))

    def leave(self, *, by: str, at: datetime, reason: str) -> None:
        """The patient left before the exam."""
        self._apply("leave", by=by, at=at, note=reason)

    def reopen(self, *, by: str, at: datetime) -> None:
        """The patient came back: start over (identity and consents are confirmed again)."""
        self._apply("reopen", by=by, at=at)
        self.identity, self.consents, self.checked_in_at = [], [], None
