"""Changes proposed for the rollup, applied here by patching, to measure them.

`bench.task rollup` with `"proposed": true` calls `apply()` before the rollup, and
the rollup benchmark compares the rows it writes with the unpatched run's, so a
proposal that changed a figure would show. Each patch is the smallest edit to the
owner's file that the profile pointed at; the owner decides. The proposals made so
far are in jobs/rollup.py: one transaction per employee with a prepared upsert, a
lean read of the check-ins, zoneinfo for local times and synchronous=NORMAL for
the derived rows (commit 8f03c29), months of a full recompute found without a
second attribution (cfc9b8a), only the dirty dates recomputed when a month's rows
exist (bfdd6b8), and plain dates for the rules (c672279).
"""

from __future__ import annotations


PROPOSALS: list[str] = []
"""One line per patch: the file, the function and the change. Empty: the owner
adopted every proposal so far (commits 8f03c29, cfc9b8a, bfdd6b8 and c672279)."""


def apply() -> list[str]:
    """Patch the modules in place; return a one-line description of each patch."""
    return PROPOSALS
