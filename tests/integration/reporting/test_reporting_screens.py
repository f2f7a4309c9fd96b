"""Issue 7's acceptance through the screens: a person only clicks and types (forms posted as the pages post them)."""

from __future__ import annotations

import re

import pytest
from reporting_world import COVERING_NPI, ORDERING_NPI, new_study

from radflow.bootstrap import Radflow
from radflow.domain.clock import FakeClock
from radflow.entrypoints.api.app import create_app
from radflow.entrypoints.worker import work_once
from radflow_test_support import UserFactory, backends
from screen_support import signed_in

pytestmark = pytest.mark.parametrize("test_settings", backends(), indirect=True)
def test_head_ct_hemorrhage_through_the_screens(radflow: Radflow, make_user: UserFactory, clock: FakeClock) -> None:
    app = create_app(radflow)
    rad = signed_in(app, make_user, "radiologist")
    covering = signed_in(app, make_user, "referring_provider", npi=COVERING_NPI, covers_npis=(ORDERING_NPI,))
    make_user("referring_provider", npi=ORDERING_NPI)
    make_user("radiologist", section_chief=True)
    study = new_study(radflow, "CT-HEAD", contrast="without", reason="fall, on warfarin", priority="stat")

    worklist = rad.get("/reading")
    assert study.accession_number in worklist.text and "STAT" in worklist.text
    assert '<a href="/reading" aria-current="page">Reading worklist</a>' in worklist.text
    assert '<a href="/critical-results">Critical results</a>' in worklist.text
    assert rad.post(f"/reading/{study.order_id}/claim", {}).status_code == 303
    editor = rad.get(f"/reading/{study.order_id}")
    assert "Extra-axial spaces:" in editor.text and "without intravenous contrast" in editor.text
    text: dict[str, str | list[str]] = {
        "findings": "Acute subdural hematoma along the left convexity, 9 mm, with 5 mm midline shift.",
            "impression": "Acute left subdural hematoma with mass effect."}
    refused = rad.post(f"/reading/{study.order_id}", {**text, "then": "sign"})
    assert refused.status_code == 409 and "no critical result is recorded" in refused.text
    assert rad.post(f"/reading/{study.order_id}/critical", {
        "level": "critical", "finding": "Acute left subdural hematoma with midline shift"}).status_code == 303
    assert rad.post(f"/reading/{study.order_id}", {**text, "then": "sign"}).status_code == 303

    work_once(radflow, "worker")
    clock.advance(minutes=20, seconds=5)
    work_once(radflow, "worker")
    work_once(radflow, "worker")
    board = rad.get("/critical-results")
    assert "Covering provider" in board.text and "due in 39 min" in board.text
    assert 'hx-trigger="every 15s"' in board.text

    documented = rad.get(board.text.split('href="/critical-results/')[1].split('"')[0].join(("/critical-results/", "")))
    assert "Clinician reached" in documented.text and "Record an attempt" in documented.text
    mine = covering.get("/critical-results")
    result_id = re.search(r'href="/critical-results/([0-9a-f]{32})"', mine.text)
    assert result_id, mine.text
    page = covering.get(f"/critical-results/{result_id.group(1)}")
    assert "Acknowledge with read-back" in page.text
    assert covering.post(f"/critical-results/{result_id.group(1)}/acknowledge",
                         {"read_back": "left subdural hematoma with midline shift"}).status_code == 303

    final = rad.get(f"/reading/{study.order_id}")
    assert "COMMUNICATION ADDENDUM 1:" in final.text
    assert "escalated to the covering provider" in final.text
    assert "read back: &#34;left subdural hematoma with midline shift&#34;" in final.text
    assert "No open critical result." in rad.get("/critical-results").text


def test_lung_rads_3_through_the_screens_gives_a_6_month_ldct(radflow: Radflow, make_user: UserFactory) -> None:
    app = create_app(radflow)
    rad = signed_in(app, make_user, "radiologist")
    study = new_study(radflow, "CT-LDCT", reason="lung cancer screening")
    rad.get("/reading")
    rad.post(f"/reading/{study.order_id}/claim", {})
    rad.get(f"/reading/{study.order_id}")
    nodule: dict[str, str | list[str]] = {"lung_exam": "baseline", "lung_type": "solid", "diameter_mm": "7.2",
                                          "solid_component_mm": "", "lung_status": ""}
    preview = rad.post("/rads/preview/lung-rads", nodule)
    assert "Lung-RADS 3" in preview.text and "6-month LDCT." in preview.text
    assert rad.post(f"/reading/{study.order_id}/rads/lung-rads", nodule).status_code == 303
    editor = rad.get(f"/reading/{study.order_id}")
    assert "Lung-RADS 3 (Probably Benign): 6-month LDCT." in editor.text
    signed = rad.post(f"/reading/{study.order_id}", {
        "findings": "7.2 mm solid nodule, right upper lobe.", "impression": "Lung-RADS 3, probably benign.",
        "recommendations": "Lung-RADS 3 (Probably Benign): 6-month LDCT.", "then": "sign"})
    assert signed.status_code == 303
    final = rad.get(f"/reading/{study.order_id}")
    assert "Final report" in final.text
    assert "RECOMMENDATIONS:\nLung-RADS 3 (Probably Benign): 6-month LDCT." in final.text


def test_ti_rads_points_are_shown_while_the_form_is_filled(radflow: Radflow, make_user: UserFactory) -> None:
    app = create_app(radflow)
    rad = signed_in(app, make_user, "radiologist")
    study = new_study(radflow, "US-THYROID")
    rad.get("/reading")
    rad.post(f"/reading/{study.order_id}/claim", {})
    editor = rad.get(f"/reading/{study.order_id}")
    assert "points calculator" in editor.text
    preview = rad.post("/rads/preview/ti-rads", {
        "ti_composition": "solid", "ti_echogenicity": "hypoechoic", "ti_shape": "taller_than_wide",
        "ti_margin": "smooth", "ti_foci": ["punctate", "macrocalcifications"], "max_diameter_cm": "1.2"})
    assert "TR5" in preview.text and "(11 points)" in preview.text


def test_a_second_radiologist_sees_who_reads_the_study_and_cannot_open_it(radflow: Radflow,
                                                                          make_user: UserFactory) -> None:
    app = create_app(radflow)
    first = signed_in(app, make_user, "radiologist", username="drone")
    second = signed_in(app, make_user, "radiologist", username="drtwo")
    study = new_study(radflow, "MR-BRAIN")
    first.get("/reading")
    first.post(f"/reading/{study.order_id}/claim", {})
    listing = second.get("/reading")
    assert "Read by Drone" in listing.text
    refused = second.post(f"/reading/{study.order_id}/claim", {})
    assert refused.status_code == 409 and "Drone is reading this study" in refused.text
