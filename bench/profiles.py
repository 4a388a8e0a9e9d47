"""Read a cProfile file into a few short lines for RESULTS.md."""

from __future__ import annotations

import pstats
from pathlib import Path

_PREFIXES = (str(Path(__file__).resolve().parent.parent) + "/", "site-packages/")


def top_entries(profile_path: Path, count: int = 25, sort: str = "cumulative") -> list[str]:
    """Return the `count` top functions by `sort` as 'cumulative s  own s  calls  function' lines."""
    stats = pstats.Stats(str(profile_path))
    stats.sort_stats(sort)
    lines = [f"{'cum s':>8} {'own s':>8} {'calls':>10}  function"]
    for function in stats.fcn_list[:count]:
        primitive_calls, calls, own, cumulative, _ = stats.stats[function]
        lines.append(f"{cumulative:8.2f} {own:8.2f} {calls:10d}  {_name(function)}")
    return lines


def _name(function: tuple[str, int, str]) -> str:
    filename, line, name = function
    for prefix in _PREFIXES:
        if prefix in filename:
            filename = filename.split(prefix, 1)[1]
    if filename == "~":
        return name
    return f"{filename}:{line}({name})"
