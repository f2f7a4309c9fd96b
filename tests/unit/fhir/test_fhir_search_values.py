"""FHIR search values: date prefixes over each precision, tokens, references, comma alternatives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radflow.adapters.fhir.search import SearchRequest
from radflow.adapters.fhir.search_values import (
    SearchValueError,
    Span,
    Token,
    alternatives,
    date_span,
    reference_value,
    token,
)

NEW_YORK = ZoneInfo("America/New_York")


def _contains(span: Span, moment: datetime) -> bool:
    return (span.start is None or moment >= span.start) and (span.end is None or moment < span.end)


def test_a_day_is_read_in_the_center_zone() -> None:
    span = date_span("2026-03-02", NEW_YORK)
    assert span == Span(datetime(2026, 3, 2, 5, tzinfo=UTC), datetime(2026, 3, 3, 5, tzinfo=UTC))


def test_an_instant_with_a_zone_stands_for_its_precision() -> None:
    assert date_span("2026-03-02T13:00:00Z", NEW_YORK) == Span(datetime(2026, 3, 2, 13, tzinfo=UTC),
                                                               datetime(2026, 3, 2, 13, 0, 1, tzinfo=UTC))
    assert date_span("2026-03-02T08:00+01:00", NEW_YORK) == Span(datetime(2026, 3, 2, 7, tzinfo=UTC),
                                                                 datetime(2026, 3, 2, 7, 1, tzinfo=UTC))
    december = date_span("2025-12", UTC)
    assert (december.start, december.end) == (datetime(2025, 12, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(("value", "start", "end"), [
    ("lt2026-03-02", None, "2026-03-02"),
    ("le2026-03-02", None, "2026-03-03"),
    ("gt2026-03-02", "2026-03-03", None),
    ("ge2026-03-02", "2026-03-02", None),
    ("sa2026-03-02", "2026-03-03", None),
    ("eb2026-03-02", None, "2026-03-02"),
])
def test_prefixes_compare_with_the_whole_period(value: str, start: str | None, end: str | None) -> None:
    def at(day: str | None) -> datetime | None:
        return datetime.fromisoformat(day).replace(tzinfo=UTC) if day else None

    assert date_span(value, UTC) == Span(at(start), at(end))


@pytest.mark.parametrize("value", ["2026-13-01", "2026-02-30", "yesterday", "ne2026-03-02", "ap2026", "26-03-02"])
def test_unreadable_or_unsupported_dates_are_refused(value: str) -> None:
    with pytest.raises(SearchValueError):
        date_span(value, UTC)


precisions = st.sampled_from(["%Y", "%Y-%m", "%Y-%m-%d", "%Y-%m-%dT%H:%MZ", "%Y-%m-%dT%H:%M:%SZ"])
instants = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


@given(moment=instants, value=instants, precision=precisions)
def test_lt_eq_gt_partition_every_instant(moment: datetime, value: datetime, precision: str) -> None:
    text = value.strftime(precision)
    matches = [_contains(date_span(f"{prefix}{text}", UTC), moment) for prefix in ("lt", "eq", "gt")]
    assert matches.count(True) == 1
    assert _contains(date_span(f"le{text}", UTC), moment) == (matches[0] or matches[1])
    assert _contains(date_span(f"ge{text}", UTC), moment) == (matches[1] or matches[2])


@given(value=instants, precision=precisions)
def test_the_value_itself_is_inside_its_own_period(value: datetime, precision: str) -> None:
    text = value.strftime(precision)
    truncated = datetime.fromisoformat(text.replace("Z", "+00:00")) if "T" in text else None
    span = date_span(text, UTC)
    assert span.start is not None and span.end is not None and span.start < span.end
    if truncated is not None:
        assert _contains(span, truncated)
        assert not _contains(span, span.end)


def test_narrowing_intersects_ranges() -> None:
    day = timedelta(days=1)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    assert Span(start, None).narrowed(Span(None, start + day)) == Span(start, start + day)


def test_tokens_references_and_alternatives() -> None:
    assert token("http://x|1") == Token("http://x", "1")
    assert token("|1") == Token("", "1")
    assert token("1") == Token(None, "1")
    assert reference_value("Patient/abc", "Patient") == "abc"
    assert reference_value("http://h/fhir/Patient/abc", "Patient") == "abc"
    assert reference_value("abc", "Patient") == "abc"
    with pytest.raises(SearchValueError):
        reference_value("Group/abc", "Patient")
    assert alternatives(r"a,b\,c") == ["a", "b,c"]


def test_repeated_parameters_and_and_commas_or() -> None:
    search = SearchRequest("Patient", [("family", "a,b"), ("family", "c"), ("_count", "5")], UTC)
    assert [[t.value for t in group] for group in search.strings("family")] == [["a", "b"], ["c"]]
    assert search.page.count == 5 and search.refusal is None


def test_paging_is_capped_and_negative_values_refused() -> None:
    assert SearchRequest("Patient", [("_count", "5000")], UTC).page.count == 100
    assert SearchRequest("Patient", [("_count", "-1")], UTC).refusal is not None
    assert SearchRequest("Patient", [("_offset", "x")], UTC).refusal is not None


def test_an_unsupported_modifier_is_refused() -> None:
    search = SearchRequest("Patient", [("birthdate:exact", "2020")], UTC)
    assert search.refusal is not None
    assert "birthdate" in search.refusal.issues[0].diagnostics
