"""C-FIND attribute matching, each matching type of DICOM PS3.4 C.2.2.2."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radflow.adapters.dicom.matching import (
    combined_datetime_range,
    compile_matcher,
    is_universal,
    parse_date_range,
    parse_datetime_range,
    parse_time_range,
)
from radflow.domain.errors import ValidationError

NEW_YORK = ZoneInfo("America/New_York")
dicom_dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2199, 12, 31))
text_values = st.text(alphabet=st.characters(blacklist_characters="\\", blacklist_categories=("Cs",)), max_size=16)


# -- universal matching (C.2.2.2.3) ---------------------------------------------------------


@pytest.mark.parametrize("query", ["", "   ", "*", "**"])
def test_empty_or_star_key_is_universal_and_matches_even_an_empty_value(query: str) -> None:
    for vr in ("CS", "PN", "DA", "TM", "UI", "US"):
        matcher = compile_matcher(vr, query)
        assert matcher(None)
        assert matcher("anything")
    assert is_universal(query)


# -- single value matching (C.2.2.2.1) ---------------------------------------------------------


def test_single_value_matches_only_the_same_value_case_sensitively() -> None:
    matcher = compile_matcher("CS", "CT")
    assert matcher("CT")
    assert not matcher("ct")
    assert not matcher("CTA")
    assert not matcher(None)


def test_padding_spaces_are_not_significant() -> None:
    assert compile_matcher("AE", "CT3 ")("CT3")
    assert compile_matcher("SH", "A001")(" A001 ")


def test_multi_valued_entity_matches_when_any_of_its_values_does() -> None:
    assert compile_matcher("LO", "LATEX")("PENICILLIN\\LATEX")
    assert not compile_matcher("LO", "IODINE")("PENICILLIN\\LATEX")


def test_numeric_single_value_compares_numbers_not_text() -> None:
    assert compile_matcher("US", "4")(4)
    assert compile_matcher("DS", "70.50")("70.5")
    assert not compile_matcher("US", "1")(4)


def test_a_numeric_key_that_is_not_a_number_is_refused() -> None:
    with pytest.raises(ValidationError, match="PregnancyStatus"):
        compile_matcher("US", "maybe", keyword="PregnancyStatus")


# -- wild card matching (C.2.2.2.4) -------------------------------------------------------


def test_star_matches_any_run_and_question_mark_one_character() -> None:
    assert compile_matcher("SH", "A00*")("A001234")
    assert compile_matcher("SH", "A00*")("A00")
    assert compile_matcher("SH", "A0?1")("A001")
    assert not compile_matcher("SH", "A0?1")("A01")
    assert not compile_matcher("SH", "A0?1")("A0011")


def test_regex_characters_in_a_key_are_literal() -> None:
    assert compile_matcher("LO", "CT (HEAD)+")("CT (HEAD)+")
    assert not compile_matcher("LO", "CT.HEAD")("CTXHEAD")


@given(text_values)
def test_a_value_always_matches_itself_and_a_lone_star(value: str) -> None:
    literal = value.replace("*", "").replace("?", "")
    assert compile_matcher("LO", literal or "x")(literal or "x")
    assert compile_matcher("LO", "*")(value)


@given(text_values, text_values)
def test_prefix_star_matches_exactly_the_values_that_start_with_the_prefix(prefix: str, rest: str) -> None:
    prefix = prefix.replace("*", "").replace("?", "").strip(" ")
    value = (prefix + rest).strip(" ")
    assert compile_matcher("LO", prefix + "*")(value) == value.startswith(prefix)


# -- person names: case rules and component groups ------------------------------------------


def test_person_name_matching_ignores_case() -> None:
    # PS3.4 C.2.2.2.1 leaves PN case sensitivity to the SCP; radflow ignores case.
    assert compile_matcher("PN", "smith^john")("SMITH^JOHN")
    assert compile_matcher("PN", "Smi*")("SMITH^JOHN")


def test_person_name_trailing_empty_components_do_not_matter() -> None:
    assert compile_matcher("PN", "SMITH^JOHN")("SMITH^JOHN^^^")
    assert compile_matcher("PN", "SMITH^*")("SMITH")


def test_person_name_groups_match_group_by_group() -> None:
    name = "Yamada^Tarou=山田^太郎=やまだ^たろう"
    assert compile_matcher("PN", "YAMADA*")(name)
    assert compile_matcher("PN", "=山田*")(name)
    assert compile_matcher("PN", "*=山田^太郎")(name)
    assert not compile_matcher("PN", "=田中*")(name)
    assert not compile_matcher("PN", "山田*")(name)  # the first group is the alphabetic one


def test_person_name_with_accents_matches_case_insensitively() -> None:
    assert compile_matcher("PN", "müller*")("MÜLLER^JÜRGEN")


# -- list of UID matching (C.2.2.2.2) --------------------------------------------------------


def test_uid_list_matches_any_listed_uid_and_nothing_else() -> None:
    matcher = compile_matcher("UI", "1.2.3\\1.2.4")
    assert matcher("1.2.3")
    assert matcher("1.2.4")
    assert not matcher("1.2.34")
    assert not matcher(None)


def test_wild_cards_in_a_uid_key_are_refused() -> None:
    with pytest.raises(ValidationError, match="wild cards"):
        compile_matcher("UI", "1.2.*", keyword="StudyInstanceUID")


# -- range matching (C.2.2.2.5) -------------------------------------------------------------


def test_date_ranges_closed_and_open_at_either_end() -> None:
    assert parse_date_range("20260201-20260207") == (date(2026, 2, 1), date(2026, 2, 7))
    assert parse_date_range("-20260207") == (None, date(2026, 2, 7))
    assert parse_date_range("20260201-") == (date(2026, 2, 1), None)
    assert parse_date_range("20260204") == (date(2026, 2, 4), date(2026, 2, 4))
    assert compile_matcher("DA", "-20260204")("20260204")
    assert not compile_matcher("DA", "20260205-")("20260204")


@given(dicom_dates, dicom_dates, dicom_dates)
def test_date_range_matches_exactly_the_dates_between_its_ends(lo: date, hi: date, day: date) -> None:
    query = f"{lo:%Y%m%d}-{hi:%Y%m%d}"
    assert compile_matcher("DA", query)(f"{day:%Y%m%d}") == (lo <= day <= hi)


@pytest.mark.parametrize("query", ["2026-02-04", "20260230", "2026020", "20260204-20260205-20260206", "2026*", "-"])
def test_malformed_date_keys_are_refused(query: str) -> None:
    with pytest.raises(ValidationError):
        compile_matcher("DA", query, keyword="ScheduledProcedureStepStartDate")


def test_a_time_with_reduced_precision_covers_its_whole_interval() -> None:
    assert parse_time_range("07") == (time(7), time(7, 59, 59, 999999))
    assert parse_time_range("0730-0800") == (time(7, 30), time(8, 0, 59, 999999))
    matcher = compile_matcher("TM", "07")
    assert matcher("070000")
    assert matcher("075959.5")
    assert not matcher("080000")


def test_time_range_open_at_either_end() -> None:
    assert compile_matcher("TM", "-1200")("115900")
    assert not compile_matcher("TM", "-1200")("130000")
    assert compile_matcher("TM", "1200-")("235959")


def test_time_range_whose_start_is_later_than_its_end_spans_midnight() -> None:
    matcher = compile_matcher("TM", "2200-0600")
    assert matcher("230000")
    assert matcher("050000")
    assert not matcher("120000")


@given(st.times(), st.times(), st.times())
def test_time_range_with_full_precision_matches_the_times_between(lo: time, hi: time, t: time) -> None:
    query = f"{lo:%H%M%S.%f}-{hi:%H%M%S.%f}"
    inside = lo <= t <= hi if lo <= hi else (t >= lo or t <= hi)
    assert compile_matcher("TM", query)(f"{t:%H%M%S.%f}") == inside


@pytest.mark.parametrize("query", ["25", "0760", "07:30:00-08", "0730.1234567", "7"])
def test_malformed_time_keys_are_refused(query: str) -> None:
    if query == "07:30:00-08":
        # The retired ACR-NEMA form with colons is read, not refused.
        assert compile_matcher("TM", query)("073000")
        return
    with pytest.raises(ValidationError):
        compile_matcher("TM", query)


def test_datetime_range_honours_utc_offsets_and_defaults_to_the_site_zone() -> None:
    lo, hi = parse_datetime_range("20260204070000-20260204120000", NEW_YORK)
    assert lo == datetime(2026, 2, 4, 7, tzinfo=NEW_YORK)
    assert hi == datetime(2026, 2, 4, 12, 0, 0, 999999, tzinfo=NEW_YORK)
    lo_utc, _ = parse_datetime_range("20260204120000+0000-", NEW_YORK)
    assert lo_utc == datetime(2026, 2, 4, 12, tzinfo=UTC)
    single_lo, single_hi = parse_datetime_range("202602041000-0500", NEW_YORK)
    assert single_lo == datetime(2026, 2, 4, 10, tzinfo=timezone(timedelta(hours=-5)))
    assert single_hi - single_lo == timedelta(minutes=1, microseconds=-1)


def test_datetime_matching_compares_instants_across_zones() -> None:
    matcher = compile_matcher("DT", "20260204120000+0000-20260204130000+0000", zone=NEW_YORK)
    assert matcher("20260204073000-0500")  # 12:30 UTC
    assert not matcher("20260204083000-0500")  # 13:30 UTC


def test_combined_date_and_time_is_one_range_across_midnight() -> None:
    lo, hi = combined_datetime_range("20260204-20260205", "1800-0600", NEW_YORK)
    assert lo == datetime(2026, 2, 4, 18, tzinfo=NEW_YORK)
    assert hi == datetime(2026, 2, 5, 6, 0, 59, 999999, tzinfo=NEW_YORK)
