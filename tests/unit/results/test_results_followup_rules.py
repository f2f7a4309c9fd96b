"""Follow-up rules: items from RADS results and sentences, duplicates merged, the reminder plan, and which
exam closes an item."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from radflow.catalog.results import load_actionable_rules
from radflow.domain.distribution import RadsOutcome, actionable_reasons
from radflow.domain.followup import (
    FollowUp,
    FollowUpSource,
    PerformedExam,
    Recommendation,
    from_rads,
    from_sentence,
    merge_recommendations,
    reminder_plan,
)

AT = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
DAY = date(2026, 3, 2)


def lung_rads_3() -> Recommendation:
    rec = from_rads(system="Lung-RADS", category="3", management="6-month LDCT.", modality="CT",
                    procedure="low-dose chest CT", interval_days=183, interval_days_max=183, rule_id="lungrads-3",
                    rule_source="Lung-RADS v2022", body_region="chest", source_date=DAY, default_days=30)
    assert rec is not None
    return rec


def item(rec: Recommendation | None = None) -> FollowUp:
    return FollowUp.open_from(rec or lung_rads_3(), id="f1", key="k", patient_id="p1", source_order_id="o1",
                              source_accession="A1", source_report_id="r1", responsible_npi="1234567893",
                              responsible_name="Dr", at=AT)


def exam(**changes: object) -> PerformedExam:
    values: dict[str, object] = {"order_id": "o2", "patient_id": "p1", "accession_number": "A2", "modality": "CT",
                                 "body_region": "chest", "performed_at": AT + timedelta(days=180)}
    values.update(changes)
    return PerformedExam(**values)  # type: ignore[arg-type]


def test_a_lung_rads_3_result_is_due_in_183_days_in_ct_of_the_chest() -> None:
    rec = lung_rads_3()
    assert (rec.modality, rec.body_region, rec.due_date) == ("CT", "chest", DAY + timedelta(days=183))


def test_a_result_that_recommends_nothing_makes_no_item_and_a_biopsy_is_due_by_default() -> None:
    assert from_rads(system="ACR TI-RADS", category="TR2", management="No FNA.", modality=None, procedure=None,
                     interval_days=None, interval_days_max=None, rule_id="x", rule_source="s", body_region="neck",
                     source_date=DAY, default_days=30) is None
    biopsy = from_rads(system="BI-RADS", category="4B", management="Tissue diagnosis.", modality=None,
                       procedure="tissue sampling (biopsy)", interval_days=None, interval_days_max=None,
                       rule_id="x", rule_source="s", body_region="breast", source_date=DAY, default_days=30)
    assert biopsy is not None and biopsy.due_date == DAY + timedelta(days=30) and biopsy.modality is None


def test_a_sentence_saying_what_the_rads_field_says_is_merged_away_but_another_is_kept() -> None:
    same = from_sentence(source=FollowUpSource.REPORT_TEXT, sentence="Follow-up CT chest in 6 months.",
                         exam="CT chest", modality="CT", procedure="imaging", interval_days=183, interval_days_max=None,
                         due_date=None, body_region="chest", source_date=DAY, default_days=30)
    other = from_sentence(source=FollowUpSource.REPORT_TEXT, sentence="Recommend thyroid ultrasound.",
                          exam="thyroid ultrasound", modality="US", procedure="imaging", interval_days=None,
                          interval_days_max=None, due_date=None, body_region="neck", source_date=DAY, default_days=30)
    merged = merge_recommendations([lung_rads_3()], [same, other])
    assert [r.modality for r in merged] == ["CT", "US"]
    assert "no interval given: due in 30 days" in merged[1].rule_source


@given(st.integers(min_value=1, max_value=800))
def test_every_reminder_falls_before_the_due_date_and_none_before_the_item_was_made(days_ahead: int) -> None:
    due = DAY + timedelta(days=days_ahead)
    plan = reminder_plan(due, DAY, provider_days=(30, 7), patient_days=(14,))
    assert plan, "an item due in the future is always reminded"
    assert all(DAY <= p.day < due for p in plan)
    assert {p.to for p in plan} == {"provider", "patient"}


def test_an_item_due_already_when_made_gets_no_reminder_but_its_overdue_escalation() -> None:
    assert reminder_plan(DAY, DAY, provider_days=(30, 7), patient_days=(14,)) == []


def test_the_matching_exam_closes_the_item() -> None:
    followup = item()
    assert followup.matches(exam())
    followup.complete(exam(), by="system")
    assert followup.completed_accession == "A2" and not followup.is_open


def test_another_patient_modality_region_the_source_exam_or_an_earlier_exam_does_not_close_it() -> None:
    followup = item()
    assert not followup.matches(exam(patient_id="p2"))
    assert not followup.matches(exam(modality="MR"))
    assert not followup.matches(exam(body_region="abdomen"))
    assert not followup.matches(exam(order_id="o1"))
    assert not followup.matches(exam(performed_at=AT - timedelta(days=1)))


def test_dx_and_cr_are_one_exam_and_a_biopsy_is_never_closed_by_imaging() -> None:
    rec = from_sentence(source=FollowUpSource.REPORT_TEXT, sentence="Repeat chest radiograph in 6 weeks.",
                        exam="chest radiograph", modality="DX", procedure="imaging", interval_days=42,
                        interval_days_max=None, due_date=None, body_region="chest", source_date=DAY, default_days=30)
    assert item(rec).matches(exam(modality="CR"))
    biopsy = from_rads(system="BI-RADS", category="5", management="Tissue diagnosis.", modality=None,
                       procedure="tissue sampling", interval_days=None, interval_days_max=None, rule_id="x",
                       rule_source="s", body_region="breast", source_date=DAY, default_days=30)
    assert biopsy is not None and not item(biopsy).matches(exam(modality="MG", body_region="breast"))


def test_actionable_reports_are_named_by_their_rads_category_critical_results_and_recommendations() -> None:
    rules = load_actionable_rules()
    assert actionable_reasons(rules, [RadsOutcome("Lung-RADS", "2", True)], critical_levels=[],
                              text_recommendations=[]) == []
    assert actionable_reasons(rules, [RadsOutcome("Lung-RADS", "3", True)], critical_levels=[],
                              text_recommendations=[]) == ["Lung-RADS 3"]
    assert actionable_reasons(rules, [RadsOutcome("BI-RADS", "1", True)], critical_levels=["urgent"],
                              text_recommendations=["MRI"]) == ["urgent result", "recommends MRI"]
    assert actionable_reasons(rules, [RadsOutcome("ACR TI-RADS", "TR3", False)], critical_levels=[],
                              text_recommendations=[]) == []
    assert actionable_reasons(rules, [RadsOutcome("ACR TI-RADS", "TR4", True)], critical_levels=[],
                              text_recommendations=[]) == ["ACR TI-RADS TR4"]
