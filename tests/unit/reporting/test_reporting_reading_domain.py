"""Reading rules: worklist order, filters, claims, and which priors are relevant."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radflow.domain.errors import Conflict, ValidationError
from radflow.domain.reading import (
    TRACK_RANK,
    PriorStudy,
    ReadingClaim,
    TurnaroundTargets,
    WorklistEntry,
    WorklistFilter,
    check_claimable,
    check_holds_claim,
    reading_worklist,
    region_of_description,
    relevant_priors,
    reporting_deadline,
)

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def entry(track: str, due_minutes: int, *, accession: str = "A", modality: str = "CT", site: str = "Main",
          claimed_by: str = "", claim_minutes: int = 0) -> WorklistEntry:
    return WorklistEntry(
        order_id=accession, accession_number=accession, patient_id="p", patient_name="P", mrn="M",
        birth_date=date(1960, 1, 1), protocol_code="CT-HEAD", protocol_name="CT head", modality=modality,
        body_part="HEAD", body_region="head", subspecialty="neuro", site=site, track=track,
        completed_at=NOW - timedelta(hours=1), due_at=NOW + timedelta(minutes=due_minutes), claimed_by=claimed_by,
        claim_expires_at=NOW + timedelta(minutes=claim_minutes) if claimed_by else None)


entries = st.lists(st.builds(entry, st.sampled_from(["stat", "urgent", "routine"]),
                             st.integers(min_value=-5000, max_value=5000),
                             accession=st.text(alphabet="ABC0123", min_size=1, max_size=4)), max_size=30)


@given(entries)
def test_the_worklist_never_puts_a_lower_track_before_a_higher_one_nor_a_later_deadline_first(
        rows: list[WorklistEntry]) -> None:
    ordered = reading_worklist(rows, WorklistFilter(), NOW)
    assert len(ordered) == len(rows)
    for before, after in pairwise(ordered):
        rank_before, rank_after = TRACK_RANK[before.track], TRACK_RANK[after.track]
        assert rank_before <= rank_after
        if rank_before == rank_after:
            assert before.due_at <= after.due_at


def test_the_deadline_is_images_complete_plus_the_tracks_target() -> None:
    targets = TurnaroundTargets(stat_minutes=45, urgent_minutes=300, routine_minutes=1440)
    assert reporting_deadline(NOW, "stat", targets) == NOW + timedelta(minutes=45)
    assert reporting_deadline(NOW, "routine", targets) == NOW + timedelta(days=1)
    with pytest.raises(ValidationError):
        TurnaroundTargets(stat_minutes=0)


def test_filters_match_case_insensitively_and_can_hide_claimed_studies() -> None:
    rows = [entry("routine", 10, accession="1", site="North"), entry("routine", 20, accession="2", modality="MR"),
            entry("routine", 30, accession="3", claimed_by="u-rad", claim_minutes=5),
            entry("routine", 40, accession="4", claimed_by="u-gone", claim_minutes=-5)]

    def pick(**wanted: str | bool) -> list[str]:
        return [r.accession_number for r in reading_worklist(rows, WorklistFilter(**wanted), NOW)]  # type: ignore[arg-type]

    assert pick(site="north") == ["1"]
    assert pick(modality="mr") == ["2"]
    assert pick(unclaimed_only=True) == ["1", "2", "4"]  # an expired claim holds nothing


def test_a_live_claim_of_someone_else_refuses_and_an_expired_one_does_not() -> None:
    live = ReadingClaim("o1", "u-a", NOW, NOW + timedelta(minutes=10), "Dr A")
    with pytest.raises(Conflict, match="Dr A is reading this study"):
        check_claimable(live, "u-b", NOW)
    check_claimable(live, "u-a", NOW)
    check_claimable(live, "u-b", NOW + timedelta(minutes=11))
    with pytest.raises(Conflict, match="claim the study"):
        check_holds_claim(live, "u-a", NOW + timedelta(minutes=11))


@pytest.mark.parametrize(("description", "region"), [
    ("CT HEAD WITHOUT CONTRAST", "head"), ("MRI BRAIN W/WO", "head"), ("CT CHEST W", "chest"),
    ("LDCT LUNG SCREENING", "chest"), ("US ABDOMEN COMPLETE", "abdomen"), ("MR KNEE LEFT", "lower_extremity"),
    ("MAMMO SCREENING BILATERAL", "breast"), ("XR SHOULDER 2V", "upper_extremity"), ("MR LUMBAR SPINE", "spine"),
    ("OUTSIDE IMAGES", ""),
])
def test_the_pacs_description_names_the_body_region(description: str, region: str) -> None:
    assert region_of_description(description) == region


def prior(source: str, accession: str, region: str, day: int, uid: str = "") -> PriorStudy:
    return PriorStudy(source=source, accession_number=accession, study_instance_uid=uid or f"uid-{accession}",
                      study_date=date(2025, 1, day), modality="CT", description="", body_region=region)


def test_priors_are_the_same_region_newest_first_without_the_current_study_and_radflow_wins_a_duplicate() -> None:
    found = relevant_priors("CUR", "uid-CUR", "chest", [
        prior("pacs", "CUR", "chest", 20), prior("pacs", "P1", "chest", 3), prior("radflow", "R1", "chest", 10),
        prior("pacs", "R1", "chest", 10, uid="other-uid"), prior("pacs", "P2", "head", 15),
        prior("pacs", "", "", 1, uid="u9"),
    ])
    assert [(p.source, p.accession_number) for p in found] == [("radflow", "R1"), ("pacs", "P1")]
