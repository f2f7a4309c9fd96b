"""Check-in rules: two identifiers, coverage confirmed as on file now, exams compared, consents, payment."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radflow.domain.checkin import (
    CheckIn,
    CheckInState,
    ConsentKind,
    ConsentMethod,
    ConsentRule,
    CoverageFacts,
    ExamFacts,
    IdentifierKind,
    PatientFacts,
    compare_exams,
    coverage_problem,
    identity_problems,
    required_consents,
)
from radflow.domain.errors import ValidationError

AT = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
RECORD = PatientFacts(family_name="Müller", given_name="Jürgen", birth_date=date(1960, 7, 14), mrn="RF0000042",
                      phone="+1 555 010 7788", postal_code="12345")
COVERAGE = CoverageFacts("c1", "aetna_commercial", "W1")


def test_two_matching_identifiers_of_different_kinds_confirm_identity() -> None:
    assert identity_problems({IdentifierKind.FULL_NAME: "jurgen muller", IdentifierKind.BIRTH_DATE: "1960-07-14"},
                             RECORD) == []


def test_one_identifier_or_a_wrong_one_does_not() -> None:
    assert identity_problems({IdentifierKind.MRN: "RF0000042"}, RECORD)
    problems = identity_problems({IdentifierKind.MRN: "RF0000042", IdentifierKind.BIRTH_DATE: "1960-07-15"}, RECORD)
    assert any("birth date does not match" in p for p in problems)


def test_a_confirmed_coverage_stops_counting_once_the_coverage_on_file_changes() -> None:
    assert coverage_problem(COVERAGE.fingerprint, COVERAGE, self_pay=False) is None
    changed = CoverageFacts("c1", "aetna_commercial", "W2")
    assert "changed since it was confirmed" in (coverage_problem(COVERAGE.fingerprint, changed, self_pay=False) or "")
    assert coverage_problem("", None, self_pay=True) is None
    assert "inactive" in (coverage_problem(COVERAGE.fingerprint, CoverageFacts("c1", "a", "W1", active=False),
                                           self_pay=False) or "")


@given(st.text(max_size=8), st.text(max_size=8))
def test_an_exam_differs_from_itself_in_nothing_and_every_difference_is_named(laterality: str, other: str) -> None:
    ordered = ExamFacts("MR-KNEE", "MR", "without", laterality, "KNEE")
    assert compare_exams(ordered, ordered) == ()
    scheduled = ExamFacts("MR-KNEE", "MR", "without", other, "KNEE")
    assert [m.attribute for m in compare_exams(ordered, scheduled)] == (["laterality"] if laterality != other else [])


def test_consents_follow_the_rules_contrast_by_class_and_route_sedation_when_arranged() -> None:
    rules = (ConsentRule(ConsentKind.CONTRAST, "local", frozenset({"iodinated"}), frozenset({"intravenous"})),
             ConsentRule(ConsentKind.SEDATION, "acr", when_sedation=True))
    assert required_consents(rules, contrast_agent="iodinated", route="intravenous", sedation=False) == {
        ConsentKind.CONTRAST}
    assert required_consents(rules, contrast_agent="iodinated", route="oral", sedation=True) == {ConsentKind.SEDATION}


def test_check_in_is_refused_while_anything_blocks_it_and_names_each() -> None:
    checkin = CheckIn(id="c", order_id="o", patient_id="p", appointment_id="a", state=CheckInState.OPEN,
                      opened_at=AT, opened_by="desk")
    checkin.compare(ExamFacts("MR-KNEE", "MR", laterality="L"), ExamFacts("MR-KNEE", "MR", laterality="R"))
    blockers = checkin.blockers(coverage=COVERAGE, self_pay=False, consents_needed=frozenset({ConsentKind.CONTRAST}),
                                payment_note_required=True)
    assert len(blockers) == 5
    with pytest.raises(ValidationError, match="cannot check in yet"):
        checkin.complete(by="desk", at=AT, blockers=blockers)
    checkin.confirm_identity({IdentifierKind.MRN: "rf0000042", IdentifierKind.PHONE: "555-010-7788"}, RECORD, by="d",
                             at=AT)
    checkin.confirm_coverage(COVERAGE, by="d", at=AT)
    checkin.resolve_mismatch("left knee confirmed with Dr Okafor by phone", by="tech", at=AT)
    checkin.record_consent(ConsentKind.CONTRAST, ConsentMethod.STAFF_ATTESTATION, by="d", at=AT, witness="RN Lee")
    checkin.note_payment("copay $50")
    remaining = checkin.blockers(coverage=COVERAGE, self_pay=False,
                                 consents_needed=frozenset({ConsentKind.CONTRAST}), payment_note_required=True)
    assert remaining == []
    checkin.complete(by="desk", at=AT, blockers=remaining)
    assert checkin.state is CheckInState.CHECKED_IN
