"""Slot search for one order: where the first free slot is wrong, the search avoids it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scheduling_center import NY, SITE, SchedulingCenter, ny, scanner

from radflow.catalog.loader import Catalog
from radflow.domain.capacity.calendar import Timeline
from radflow.services.scheduling.booking import BookAppointment
from radflow.services.scheduling.capacity_admin import AddClosure
from radflow.services.scheduling.pictures import PatientNeeds
from radflow.services.scheduling.slots import FindSlots, PatientWishes, SlotSearch


def search(center: SchedulingCenter, order_id: str, **fields: object) -> SlotSearch:
    result: SlotSearch = center.bus.handle(FindSlots(actor=center.scheduler, order_id=order_id, **fields))  # type: ignore[arg-type]
    return result


def local(moment: datetime) -> datetime:
    return moment.astimezone(NY)


def book(center: SchedulingCenter, order_id: str, scanner_id: str, start: datetime) -> str:
    appointment_id: str = center.bus.handle(BookAppointment(actor=center.scheduler, order_id=order_id,
                                                            scanner_id=scanner_id, start=start))
    return appointment_id


def test_the_first_option_is_the_earliest_free_start_on_a_capable_scanner(center: SchedulingCenter) -> None:
    result = search(center, center.order("MR-LSPINE"))
    first = result.offers[0]
    assert (first.start, first.scanner_id) == (ny(2, 9), "MR1")  # now: Monday 09:00; MR1 before MR2 on ties
    assert {o.scanner_id for o in result.offers} <= {"MR1", "MR2"}
    assert result.slot_minutes == 40  # 30 min exam + 10 min turnover
    assert not first.past_target


def test_a_fasting_exam_is_not_offered_after_the_morning(center: SchedulingCenter) -> None:
    center.clock.set(ny(2, 12))  # Monday noon: the ultrasound room is free from now on
    fasting = search(center, center.order("US-ABD"))
    plain = search(center, center.order("US-THYROID"))
    assert plain.offers[0].start == ny(2, 12)  # the first free slot …
    assert fasting.offers[0].start == ny(3, 7)  # … is wrong for a fasting exam: next morning instead
    assert all(local(o.start).hour < 11 for o in fasting.offers)


def test_an_iodinated_contrast_ct_is_not_booked_before_a_thyroid_uptake_scan(center: SchedulingCenter) -> None:
    patient = center.patient()
    thyroid = center.order("NM-THYROID-UPTAKE", patient)
    book(center, thyroid, "NM1", ny(4, 11))  # capsule 07:00 Wednesday, measured 11:00
    ct = search(center, center.order("CT-ABDPEL", patient, contrast="with"))
    plain_ct = search(center, center.order("CT-ABDPEL", patient, contrast="without"))
    assert plain_ct.offers[0].start == ny(2, 9)  # the first free CT slot …
    assert ct.offers[0].start == ny(4, 11, 25)  # … would block the iodine uptake: after the thyroid scan ends
    assert all(o.start >= ny(4, 11, 25) for o in ct.offers)


def test_a_thyroid_uptake_scan_waits_six_weeks_after_iodinated_contrast(center: SchedulingCenter) -> None:
    patient = center.patient()
    ct = center.order("CT-ABDPEL", patient, contrast="with")
    book(center, ct, "CT1", ny(3, 9))
    thyroid = search(center, center.order("NM-THYROID-UPTAKE", patient))
    # Only before the CT (Monday, the capsule at 07:00 at the latest 10:00) is the thyroid study possible.
    assert thyroid.offers and all(o.end <= ny(3, 0) for o in thyroid.offers)
    assert all(local(o.patient_from).hour <= 10 for o in thyroid.offers)


def test_a_pet_scan_leaves_the_tracer_uptake_wait_inside_opening_hours(center: SchedulingCenter) -> None:
    center.clock.set(ny(1, 12))  # Sunday: Monday's first PET slot opens at 07:00
    pet = search(center, center.order("PT-FDG"))
    first = pet.offers[0]
    assert first.start == ny(2, 8)  # 07:00 would have the injection at 06:00, before the site opens
    assert first.patient_from == ny(2, 7)


def test_a_tracer_injection_is_never_in_the_past(center: SchedulingCenter) -> None:
    pet = search(center, center.order("PT-FDG"))  # now Monday 09:00
    assert pet.offers[0].patient_from >= center.clock.now()


def test_a_slot_past_the_target_is_ranked_after_every_on_time_slot(catalog: Catalog) -> None:
    north = {**SITE, "id": "NORTH", "name": "North clinic"}
    center = SchedulingCenter(catalog, sites=[SITE, north],
                              scanners=[scanner("MR1", "MR"), scanner("MR7", "MR", site="NORTH")])
    # The patient's preferred site is down until next week: its first slots are past the urgent target.
    center.bus.handle(AddClosure(actor=center.manager, kind="downtime", scanner_id="MR7", reason="magnet quench",
                                 start=ny(1, 0), end=ny(9, 0)))
    urgent = center.order("MR-LSPINE", track="urgent")  # target: Thursday 09:00
    result = search(center, urgent, wishes=PatientWishes(preferred_sites=("NORTH",)), limit=10)
    assert result.offers[0].scanner_id == "MR1" and not result.offers[0].past_target
    north_offers = [o for o in result.offers if o.site_id == "NORTH"]
    assert north_offers and all(o.past_target for o in north_offers)
    first_late = next(k for k, o in enumerate(result.offers) if o.past_target)
    assert all(o.past_target for o in result.offers[first_late:])


def test_a_contrast_exam_is_offered_only_while_a_radiologist_is_on_site(center: SchedulingCenter) -> None:
    center.clock.set(ny(2, 16, 45))
    with_contrast = search(center, center.order("CT-ABDPEL", contrast="with"))
    without = search(center, center.order("CT-ABDPEL", contrast="without"))
    assert without.offers[0].start == ny(2, 16, 45)
    # Supervision ends at 17:00: a 25-minute slot from 16:45 would run past it.
    assert with_contrast.offers[0].start == ny(3, 8)


def test_a_conditional_implant_or_a_heavy_patient_narrows_the_scanners(center: SchedulingCenter) -> None:
    order = center.order("MR-LSPINE")
    only_15 = search(center, order, needs=PatientNeeds(requires=frozenset({"1.5T"})))
    heavy = search(center, order, needs=PatientNeeds(weight_kg=200))
    assert {o.scanner_id for o in only_15.offers} == {"MR1"}
    assert {o.scanner_id for o in heavy.offers} == {"MR2"}  # MR1's table takes 160 kg


def test_sedation_and_a_child_lengthen_the_slot(center: SchedulingCenter) -> None:
    from datetime import date

    adult = search(center, center.order("MR-LSPINE"))
    sedated = search(center, center.order("MR-LSPINE"), needs=PatientNeeds(sedation=True))
    child = search(center, center.order("MR-LSPINE", center.patient(birth=date(2019, 6, 1))))
    assert (adult.slot_minutes, sedated.slot_minutes, child.slot_minutes) == (40, 70, 55)
    assert "30 sedation" in sedated.slot_explained


def test_the_patient_s_availability_and_other_exams_are_respected(center: SchedulingCenter) -> None:
    patient = center.patient()
    book(center, center.order("CT-HEAD", patient), "CT1", ny(3, 10))
    windows = ((ny(3, 9, 30), ny(3, 12)),)
    result = search(center, center.order("MR-LSPINE", patient), wishes=PatientWishes(availability=windows))
    assert result.offers
    for offer in result.offers:
        assert windows[0][0] <= offer.start and offer.end <= windows[0][1]
        assert offer.end <= ny(3, 10) or offer.start >= ny(3, 10, 15)  # not during the CT


def test_the_search_finds_slots_across_the_daylight_saving_change(center: SchedulingCenter) -> None:
    center.clock.set(ny(6, 18, 30))  # Friday evening, EST; Monday is EDT
    result = search(center, center.order("MR-LSPINE"))
    first = result.offers[0]
    assert first.start == datetime(2026, 3, 9, 11, 0, tzinfo=UTC)  # 07:00 EDT
    assert local(first.start).hour == 7


def test_no_offers_within_a_holiday(center: SchedulingCenter) -> None:
    from datetime import date

    center.bus.handle(AddClosure(actor=center.manager, kind="holiday", site_id="MAIN", day=date(2026, 3, 2),
                                 reason="snow day"))
    result = search(center, center.order("MR-LSPINE"))
    assert local(result.offers[0].start).date() == date(2026, 3, 3)


def test_options_are_spread_over_scanners_and_days(center: SchedulingCenter) -> None:
    result = search(center, center.order("MR-LSPINE"), limit=5)
    keys = [(o.scanner_id, local(o.start).date()) for o in result.offers]
    assert len(keys) == len(set(keys)) == 5


def test_the_timeline_of_a_search_starts_now(center: SchedulingCenter) -> None:
    line = Timeline.covering(center.clock.now(), center.clock.now() + timedelta(days=14))
    assert line.minute(center.clock.now()) == 0


def test_a_scanner_open_around_the_clock_takes_a_booking_across_midnight(catalog: Catalog) -> None:
    every_day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    center = SchedulingCenter(catalog, scanners=[scanner("CT9", "CT", hours=("00:00", "24:00"), days=every_day),
                                                 scanner("CT1", "CT")])
    center.clock.set(ny(2, 23, 30))
    late = center.order("CT-HEAD")
    book(center, late, "CT9", ny(2, 23, 55))  # runs into Tuesday: the scanner never closed
    assert center.state(late) == "scheduled"
    assert all(local(o.end).hour <= 19 and local(o.start).date() == local(o.end).date()
               for o in search(center, center.order("CT-HEAD"), limit=40).offers if o.scanner_id == "CT1")
