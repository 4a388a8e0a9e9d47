"""Spans of instants: half-open [begin_ms, end_ms) pairs in sorted, disjoint lists.

A date's time at work, break, holidays and nights are a handful of spans each, so
plain loops over short lists are enough.
"""

from __future__ import annotations

Span = tuple[int, int]
"""A half-open span of instants [begin_ms, end_ms)."""


def length(spans: list[Span]) -> int:
    """Return the total ms of `spans`."""
    return sum(end - begin for begin, end in spans)


def overlap(spans: list[Span], low: int, high: int) -> int:
    """Return how many ms of `spans` lie within [low, high)."""
    total = 0
    for begin, end in spans:
        if begin < low:
            begin = low
        if end > high:
            end = high
        if begin < end:
            total += end - begin
    return total


def overlap_all(spans: list[Span], cuts: list[Span]) -> int:
    """Return how many ms of `spans` lie within any of the disjoint `cuts`."""
    return sum(overlap(spans, low, high) for low, high in cuts)


def clip(spans: list[Span], low: int, high: int) -> list[Span]:
    """Return the parts of `spans` within [low, high)."""
    clipped = []
    for begin, end in spans:
        begin = max(begin, low)
        end = min(end, high)
        if begin < end:
            clipped.append((begin, end))
    return clipped


def cut(spans: list[Span], low: int, high: int) -> list[Span]:
    """Return `spans` without [low, high)."""
    result = []
    for begin, end in spans:
        if end <= low or high <= begin:
            result.append((begin, end))
            continue
        if begin < low:
            result.append((begin, low))
        if high < end:
            result.append((high, end))
    return result


def merge(spans: list[Span]) -> list[Span]:
    """Return `spans` (in any order) sorted, with touching or overlapping ones joined."""
    merged: list[Span] = []
    for begin, end in sorted(spans):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    return merged


def intersect(spans: list[Span], cuts: list[Span]) -> list[Span]:
    """Return the parts of `spans` within the disjoint `cuts`."""
    result = []
    for begin, end in spans:
        for cut_begin, cut_end in cuts:
            low = max(begin, cut_begin)
            high = min(end, cut_end)
            if low < high:
                result.append((low, high))
    return sorted(result)


def subtract(spans: list[Span], cuts: list[Span]) -> list[Span]:
    """Return the parts of `spans` outside every one of `cuts`."""
    result = []
    for begin, end in spans:
        pieces = [(begin, end)]
        for cut_begin, cut_end in cuts:
            next_pieces = []
            for low, high in pieces:
                if cut_end <= low or high <= cut_begin:
                    next_pieces.append((low, high))
                    continue
                if low < cut_begin:
                    next_pieces.append((low, cut_begin))
                if cut_end < high:
                    next_pieces.append((cut_end, high))
            pieces = next_pieces
        result.extend(pieces)
    return result
