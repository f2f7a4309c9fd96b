"""The results services on in-memory fakes: what signing starts, outside reports, addenda, matching exams,
who sees which inbox, letters that cannot be written, normal-result notices."""

from __future__ import annotations

from datetime import timedelta

import pytest
from results_center import COVERING_NPI, ORDERING_NPI, START, ResultsCenter, recommendation

from radflow.catalog.loader import Catalog
from radflow.domain.distribution import DistributionState, ResultsPolicy
from radflow.domain.errors import Forbidden, NotFound
from radflow.domain.followup import FollowUpSource, FollowUpState
from radflow.domain.hl7_message import ExternalReportReceived
from radflow.domain.lifecycle import OrderState
from radflow.domain.users import Role
from radflow.services import followups
from radflow.services.distribution import GetInbox, OpenInboxReport
from radflow.services.patient_release import ListMyResults
from radflow.services.results_ports import FollowUpFilter

LUNG_RADS_3 = {"system": "lung-rads", "exam": "baseline", "nodules": [{"type": "solid", "diameter_mm": 7.0}]}


def test_signing_posts_to_the_inbox_and_portal_delivers_the_order_and_plans_the_follow_up(
        center: ResultsCenter) -> None:
    order = center.study()
    center.sign(order, findings=(LUNG_RADS_3,), impression="Lung-RADS 3.")
    center.run_due_jobs()
    by_channel = {d.channel.value: d for d in center.table("distributions")}
    assert by_channel["inbox"].state is DistributionState.DELIVERED and by_channel["inbox"].actionable
    assert by_channel["portal"].state is DistributionState.DELIVERED
    (stored,) = [o for o in center.table("orders") if o.id == order.id]
    assert stored.state is OrderState.DELIVERED
    (item,) = center.table("followups")
    assert item.due_date == START.date() + timedelta(days=183) and item.responsible_npi == ORDERING_NPI
    assert sorted((j.payload["to"], j.payload["days_before"]) for j in center.jobs_of(followups.REMIND)) == [
        ("patient", 14), ("provider", 7), ("provider", 30)]
    assert [j.due_at for j in center.jobs_of("results.unopened")] == [center.clock.now() + timedelta(hours=72)]


def test_a_report_with_nothing_to_act_on_is_not_escalated_and_makes_no_item(center: ResultsCenter) -> None:
    order = center.study("CT-CHEST")
    center.sign(order, impression="No acute abnormality.")
    center.run_due_jobs()
    assert center.jobs_of("results.unopened") == [] and center.table("followups") == []


def test_a_recommendation_in_the_text_makes_an_item_and_a_negated_or_conditional_one_does_not(
        center: ResultsCenter) -> None:
    center.reader.sentences = [
        recommendation("Recommend thyroid ultrasound in 3 months.", modality="US", exam="thyroid ultrasound", days=91),
        recommendation("No follow-up imaging is needed for the adrenal.", modality=None, exam="imaging",
                       negated=True),
        recommendation("If symptoms persist, consider MRI.", modality="MR", exam="MRI", hypothetical=True)]
    order = center.study("CT-CHEST")
    center.sign(order, impression="Thyroid nodule. " + " ".join(r.sentence for r in center.reader.sentences))
    center.run_due_jobs()
    (item,) = center.table("followups")
    assert (item.source, item.modality, item.body_region) == (FollowUpSource.REPORT_TEXT, "US", "neck")
    assert item.due_date == START.date() + timedelta(days=91)


def test_an_outside_final_report_makes_items_and_a_preliminary_one_does_not(center: ResultsCenter) -> None:
    sentence = "Recommend follow-up CT of the chest in 12 months."
    center.reader.sentences = [recommendation(sentence, modality="CT", exam="CT chest", days=365)]
    order = center.study("CT-CHEST")
    for status, message_id in (("P", "m1"), ("F", "m2")):
        event = ExternalReportReceived(at=center.clock.now(), by="system:hl7", message_id=message_id,
                                       order_id=order.id, patient_id=order.patient_id,
                                       accession_number=order.accession_number, document_id=f"doc-{message_id}",
                                       result_status=status, text=f"IMPRESSION: 6 mm nodule. {sentence}")
        with center.uow() as uow:
            followups.on_outside_report(event, uow)
            uow.commit()
    center.run_due_jobs()
    (item,) = center.table("followups")
    assert item.source is FollowUpSource.OUTSIDE_REPORT and item.due_date == START.date() + timedelta(days=365)


def test_an_addendum_adds_its_new_recommendation_once_and_repeats_make_nothing(center: ResultsCenter) -> None:
    order = center.study()
    center.sign(order, findings=(LUNG_RADS_3,), impression="Lung-RADS 3.")
    center.run_due_jobs()
    center.reader.sentences = [
        recommendation("Recommend dedicated renal ultrasound.", modality="US", exam="renal ultrasound"),
        recommendation("Follow-up LDCT in 6 months as above.", modality="CT", exam="LDCT", days=183)]
    center.addendum(order, "Incidental 2 cm renal lesion. Recommend dedicated renal ultrasound. "
                           "Follow-up LDCT in 6 months as above.")
    center.run_due_jobs()
    items = sorted(center.table("followups"), key=lambda i: i.modality or "")
    assert [(i.modality, i.source) for i in items] == [("CT", FollowUpSource.RADS),
                                                       ("US", FollowUpSource.REPORT_TEXT)]


def test_only_a_matching_exam_of_the_same_patient_closes_the_item(center: ResultsCenter) -> None:
    order = center.study()
    center.sign(order, findings=(LUNG_RADS_3,), impression="Lung-RADS 3.")
    center.run_due_jobs()
    center.clock.advance(days=30)
    center.study("CT-ABD", patient_id=order.patient_id)
    center.study("CT-LDCT")  # another patient
    center.run_due_jobs()
    (item,) = center.table("followups")
    assert item.state is FollowUpState.OPEN
    center.clock.advance(days=150)
    follow_up = center.study("CT-CHEST", patient_id=order.patient_id)
    center.run_due_jobs()
    (item,) = center.table("followups")
    assert item.state is FollowUpState.COMPLETED and item.completed_by_order_id == follow_up.id


def test_an_overdue_item_is_escalated_to_the_provider_and_whoever_covers(center: ResultsCenter) -> None:
    order = center.study()
    center.sign(order, findings=(LUNG_RADS_3,), impression="Lung-RADS 3.")
    center.run_due_jobs()
    center.clock.advance(days=183 + 14, hours=20)
    center.run_due_jobs()
    (item,) = center.table("followups")
    assert item.state is FollowUpState.OVERDUE and sorted(item.escalated_to) == [
        "Dr Cover by inbox", "Dr Order by inbox"]
    assert len(item.reminders) == 3


def test_a_referrer_sees_the_inbox_of_their_orders_and_those_they_cover_and_no_other(center: ResultsCenter) -> None:
    mine = center.study()
    theirs = center.study(npi="1003000126")
    for order in (mine, theirs):
        center.sign(order)
    center.run_due_jobs()
    assert [line.distribution.order_id for line in center.bus.handle(GetInbox(actor=center.ordering))] == [mine.id]
    assert [line.distribution.order_id for line in center.bus.handle(GetInbox(actor=center.covering))] == [mine.id]
    with pytest.raises(Forbidden):
        center.bus.handle(OpenInboxReport(actor=center.ordering, order_id=theirs.id))
    refusals = [r for r in center.store.audit if r.outcome.value != "success"]
    assert refusals and refusals[-1].object_id == theirs.id
    opened = center.bus.handle(OpenInboxReport(actor=center.covering, order_id=mine.id))
    assert opened.first_opening
    (inbox,) = [d for d in center.table("distributions") if d.order_id == mine.id and d.channel.value == "inbox"]
    assert inbox.first_opened_by_name == "Dr Cover" and inbox.recipient_ref == ORDERING_NPI != COVERING_NPI


def test_a_mammogram_without_bi_rads_gets_no_letter_and_its_missed_deadline_shows(center: ResultsCenter) -> None:
    order = center.study("MG-SCREEN")
    center.sign(order, impression="Negative.")
    center.run_due_jobs()
    (letter,) = [d for d in center.table("distributions") if d.purpose.value == "lay_letter"]
    assert "no BI-RADS assessment" in letter.details["problem"] and letter.state is DistributionState.PENDING
    assert [m for m in center.gateway.sent if m.key.startswith("results:lay_letter")] == []
    center.clock.advance(days=31)
    center.run_due_jobs()
    (letter,) = [d for d in center.table("distributions") if d.purpose.value == "lay_letter"]
    assert "deadline_missed_at" in letter.details


def test_the_center_tells_patients_of_normal_results_only_where_it_is_responsible(catalog: Catalog) -> None:
    center = ResultsCenter(catalog, ResultsPolicy(center_tells_patients=True, normal_result_notice_days=10))
    normal, actionable = center.study("CT-CHEST"), center.study()
    center.sign(normal, impression="No acute abnormality.")
    center.sign(actionable, findings=(LUNG_RADS_3,), impression="Lung-RADS 3.")
    center.run_due_jobs()
    (notice,) = [d for d in center.table("distributions") if d.purpose.value == "result_notice"]
    assert notice.order_id == normal.id and notice.state is DistributionState.SENT
    assert notice.due_at is not None and notice.due_at.date() >= (START + timedelta(days=10)).date()
    (message,) = [m for m in center.gateway.sent if m.key.startswith("results:result_notice")]
    assert message.channel == "letter" and "no finding that needs further tests" in message.body
    default = ResultsCenter(catalog)
    order = default.study("CT-CHEST")
    default.sign(order, impression="No acute abnormality.")
    default.run_due_jobs()
    assert [d for d in default.table("distributions") if d.purpose.value == "result_notice"] == []


def test_a_patient_sees_only_their_own_signed_reports_and_every_look_is_audited(center: ResultsCenter) -> None:
    mine, other = center.study(), center.study()
    patient = center.person("maria", Role.PATIENT, display="Maria",
                            patient_id=mine.patient_id)
    center.sign(mine)
    center.sign(other)
    center.run_due_jobs()
    before = len(center.store.audit)
    assert [line.order.id for line in center.bus.handle(ListMyResults(actor=patient))] == [mine.id]
    assert len(center.store.audit) == before + 1
    with pytest.raises(NotFound):
        center.bus.handle(followups.GetFollowUp(actor=center.radiologist, followup_id="nope"))


def test_the_worklist_filters_by_modality_region_due_date_and_a_referrers_own_patients(center: ResultsCenter) -> None:
    center.reader.sentences = [recommendation("Recommend thyroid ultrasound in 3 months.", modality="US",
                                              exam="thyroid ultrasound", days=91)]
    ct = center.study()
    us = center.study("CT-CHEST", npi="1003000126")
    center.sign(ct, findings=(LUNG_RADS_3,), impression="Lung-RADS 3.")
    center.sign(us, impression="Thyroid nodule. Recommend thyroid ultrasound in 3 months.")
    center.run_due_jobs()

    def ids(actor: object, **wanted: object) -> list[str]:
        lines = center.bus.handle(followups.GetFollowUpWorklist(actor=actor,  # type: ignore[arg-type]
                                                                wanted=FollowUpFilter(**wanted)))  # type: ignore[arg-type]
        return [line.item.source_order_id for line in lines]

    assert ids(center.radiologist) == [us.id, ct.id]
    assert ids(center.radiologist, modality="CT") == [ct.id]
    assert ids(center.radiologist, body_region="neck") == [us.id]
    assert ids(center.radiologist, due_before=START.date() + timedelta(days=100)) == [us.id]
    assert ids(center.ordering) == [ct.id]
    assert ids(center.stranger) == [us.id]
