"""Tests for the span helpers the figures are computed with."""

from __future__ import annotations

import pytest

from jobs import spans


def test_length_sums_spans() -> None:
    assert spans.length([(0, 10), (20, 25)]) == 15
    assert spans.length([]) == 0


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [(0, 100, 15), (5, 22, 7), (10, 20, 0), (25, 30, 0), (-5, 3, 3)],
)
def test_overlap_within_bounds(low: int, high: int, expected: int) -> None:
    assert spans.overlap([(0, 10), (20, 25)], low, high) == expected


def test_overlap_all_sums_cuts() -> None:
    assert spans.overlap_all([(0, 100)], [(10, 20), (50, 55)]) == 15


def test_clip_keeps_parts_inside() -> None:
    assert spans.clip([(0, 10), (20, 30)], 5, 25) == [(5, 10), (20, 25)]


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (4, 6, [(0, 4), (6, 10)]),
        (0, 10, []),
        (10, 20, [(0, 10)]),
        (-5, 2, [(2, 10)]),
    ],
)
def test_cut_removes_one_span(low: int, high: int, expected: list[tuple[int, int]]) -> None:
    assert spans.cut([(0, 10)], low, high) == expected


def test_merge_joins_touching_and_overlapping() -> None:
    assert spans.merge([(20, 30), (0, 10), (10, 15), (25, 40)]) == [(0, 15), (20, 40)]


def test_intersect_and_subtract_split_a_span() -> None:
    cuts = [(2, 4), (6, 8)]

    assert spans.intersect([(0, 10)], cuts) == [(2, 4), (6, 8)]
    assert spans.subtract([(0, 10)], cuts) == [(0, 2), (4, 6), (8, 10)]
