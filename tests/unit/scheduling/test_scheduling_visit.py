"""One visit for a patient with several orders: a valid order of exams, merged preparation."""

from __future__ import annotations

import pytest
from scheduling_center import NY, SchedulingCenter, ny

from radflow.domain.errors import RadflowError
from radflow.services.scheduling.booking import BookVisit
from radflow.services.scheduling.slots import FindVisit, VisitOffer


def visits(center: SchedulingCenter, *order_ids: str) -> list[VisitOffer]:
    found: list[VisitOffer] = center.bus.handle(FindVisit(actor=center.scheduler, order_ids=order_ids))
    return found


def test_a_thyroid_uptake_scan_comes_before_the_iodinated_ct_of_the_same_visit(center: SchedulingCenter) -> None:
    center.clock.set(ny(1, 12))
    patient = center.patient()
    ct = center.order("CT-ABDPEL", patient, contrast="with")
    thyroid = center.order("NM-THYROID-UPTAKE", patient)
    best = visits(center, ct, thyroid)[0]
    by_order = {o.order_id: o for o in best.offers}
    assert best.day == "2026-03-02"
    assert by_order[thyroid].end <= by_order[ct].start
    assert by_order[thyroid].patient_from.astimezone(NY).hour <= 10  # the capsule in the morning


def test_a_fasting_exam_stays_in_the_morning_of_a_visit_with_merged_preparation(center: SchedulingCenter) -> None:
    center.clock.set(ny(1, 12))
    patient = center.patient()
    mri = center.order("MR-LSPINE", patient)
    ultrasound = center.order("US-ABD", patient)
    best = visits(center, mri, ultrasound)[0]
    by_order = {o.order_id: o for o in best.offers}
    assert by_order[ultrasound].start.astimezone(NY).hour < 11
    assert best.preparation.fasting_hours >= 8  # the ultrasound's overnight fast carries over
    first, second = sorted(best.offers, key=lambda o: o.start)
    assert first.end <= second.start and first.start.date() == second.start.date()


def test_a_pet_and_a_ct_on_one_day_keep_the_uptake_wait_free(center: SchedulingCenter) -> None:
    center.clock.set(ny(1, 12))
    patient = center.patient()
    pet = center.order("PT-FDG", patient)
    ct = center.order("CT-CHEST", patient, contrast="without")
    best = visits(center, pet, ct)[0]
    by_order = {o.order_id: o for o in best.offers}
    pet_offer, ct_offer = by_order[pet], by_order[ct]
    # The CT is never during the PET's injection-to-scan wait nor during the scan.
    assert ct_offer.end <= pet_offer.patient_from or ct_offer.start >= pet_offer.end


def test_booking_a_visit_books_every_exam_or_none(center: SchedulingCenter) -> None:
    center.clock.set(ny(1, 12))
    patient = center.patient()
    mri = center.order("MR-LSPINE", patient)
    ultrasound = center.order("US-ABD", patient)
    best = visits(center, mri, ultrasound)[0]
    made = center.bus.handle(BookVisit(actor=center.scheduler,
                                       bookings=tuple((o.order_id, o.scanner_id, o.start) for o in best.offers)))
    assert len(made) == 2
    assert center.state(mri) == center.state(ultrasound) == "scheduled"


def test_a_visit_with_an_impossible_exam_books_nothing(center: SchedulingCenter) -> None:
    center.clock.set(ny(1, 12))
    patient = center.patient()
    mri = center.order("MR-LSPINE", patient)
    ultrasound = center.order("US-ABD", patient)
    with pytest.raises(RadflowError):
        center.bus.handle(BookVisit(actor=center.scheduler, bookings=(
            (mri, "MR1", ny(2, 8)), (ultrasound, "US1", ny(2, 15)))))  # a fasting exam at 15:00
    assert center.state(mri) == center.state(ultrasound) == "ready_to_schedule"
