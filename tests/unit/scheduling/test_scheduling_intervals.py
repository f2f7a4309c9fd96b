"""Interval operations agree with minute-by-minute sets for every input."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from radflow.domain.capacity.intervals import Interval, containing, intersect, merged, subtract


def _disjoint(draw_list: list[int]) -> list[Interval]:
    """Sorted, disjoint (possibly touching) intervals from sorted cut points."""
    points = sorted(set(draw_list))
    return [(points[i], points[i + 1]) for i in range(0, len(points) - 1, 2)]


def _minutes(intervals: list[Interval]) -> set[int]:
    return {m for a, b in intervals for m in range(a, b)}


cuts = st.lists(st.integers(0, 300), max_size=16)


@given(cuts, cuts)
def test_intersection_holds_exactly_the_shared_minutes(first: list[int], second: list[int]) -> None:
    a, b = _disjoint(first), _disjoint(second)
    assert _minutes(intersect(a, b)) == _minutes(a) & _minutes(b)


@given(cuts, st.lists(st.tuples(st.integers(0, 300), st.integers(0, 300)), max_size=8))
def test_subtraction_removes_exactly_the_removed_minutes(first: list[int], holes: list[tuple[int, int]]) -> None:
    a = _disjoint(first)
    removed = [(min(x, y), max(x, y)) for x, y in holes]
    left = subtract(a, removed)
    assert _minutes(left) == _minutes(a) - _minutes(removed)
    # Every piece stays inside one of the original intervals.
    assert all(containing(a, s, e) is not None for s, e in left)


@given(st.lists(st.tuples(st.integers(0, 300), st.integers(0, 300)), max_size=10))
def test_merging_keeps_the_minutes_and_leaves_no_touching_pieces(raw: list[tuple[int, int]]) -> None:
    intervals = [(min(x, y), max(x, y)) for x, y in raw]
    out = merged(intervals)
    assert _minutes(out) == _minutes(intervals)
    assert all(out[i][1] < out[i + 1][0] for i in range(len(out) - 1))
