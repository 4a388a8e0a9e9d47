"""Rollup figures: a full recompute against one SQL GROUP BY, and an incremental day."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.dataset import Dataset, day_bodies, generate, local_ms, make_employees
from bench.profiles import top_entries
from bench.proposals import PROPOSALS
from bench.servers import REPO

PROFILE_EMPLOYEES = 100
"""The full rollup is profiled on this many employees (same days), because cProfile slows it down."""


@dataclasses.dataclass(frozen=True)
class TaskRun:
    """One `bench.task` process: wall and CPU seconds of the task, peak RSS of the process."""

    seconds: float
    cpu_seconds: float
    max_rss_mb: float | None
    """None for a step run inside the bench's own process, whose peak is not the step's."""
    rows: int | None = None
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Other values the task returned, such as `traced_peak_mb`."""


@dataclasses.dataclass(frozen=True)
class RollupFigures:
    """The rollup's figures on one generated dataset."""

    description: str
    employees: int
    days: int
    checkins: int
    generate_seconds: float
    groupby: TaskRun
    full: TaskRun
    write_day: TaskRun
    incremental: TaskRun
    proposed_full: TaskRun | None
    proposed_incremental: TaskRun | None
    proposed_rows_differing: int | None
    """Rows of `daily_attendance` that differ between the runs with and without the proposals (0 expected)."""
    proposals: list[str]
    profile_scope: str
    profile: list[str]
    profile_proposed: list[str]

    @property
    def full_vs_groupby(self) -> float:
        """The goal's ratio, on wall-clock time: at most 3."""
        return round(self.full.seconds / self.groupby.seconds, 1)

    @property
    def proposed_full_vs_groupby(self) -> float | None:
        if self.proposed_full is None:
            return None
        return round(self.proposed_full.seconds / self.groupby.seconds, 1)

    @property
    def full_vs_groupby_cpu(self) -> float:
        """The same ratio on CPU time, which other work on the machine disturbs less."""
        return round(self.full.cpu_seconds / self.groupby.cpu_seconds, 1)


def measure(workdir: Path, employees: int, days: int) -> RollupFigures:
    """Generate the dataset, then time the GROUP BY, the full rollup and one incremental day."""
    database = workdir / f"rollup-{employees}x{days}.db"
    _remove_database(database)
    started = time.perf_counter()
    dataset = generate(database, employees, days)
    generate_seconds = round(time.perf_counter() - started, 1)

    new_day = dataset.last_day + dt.timedelta(days=1)
    full_now_ms = local_ms(new_day, 6 * 60)
    incremental_now_ms = local_ms(new_day + dt.timedelta(days=1), 6 * 60)

    proposed = workdir / f"rollup-{employees}x{days}-proposed.db"
    _remove_database(proposed)
    shutil.copyfile(database, proposed)

    groupby = run_task("groupby", {"database": str(database)})
    full = run_task("rollup", {"database": str(database), "now_ms": full_now_ms})
    write_day = _write_day(database, employees, new_day)
    incremental = run_task("rollup", {"database": str(database), "now_ms": incremental_now_ms})

    proposed_full = proposed_incremental = differing = None
    if PROPOSALS:
        proposed_full = run_task("rollup", {"database": str(proposed), "now_ms": full_now_ms, "proposed": True})
        _write_day(proposed, employees, new_day)
        proposed_incremental = run_task("rollup", {"database": str(proposed), "now_ms": incremental_now_ms, "proposed": True})
        differing = _rows_differing(database, proposed)
    profile_scope, profile, profile_proposed = _profile(workdir, min(employees, PROFILE_EMPLOYEES), days)

    return RollupFigures(
        description=_description(dataset, new_day),
        employees=employees,
        days=dataset.days,
        checkins=dataset.checkins,
        generate_seconds=generate_seconds,
        groupby=groupby,
        full=full,
        write_day=write_day,
        incremental=incremental,
        proposed_full=proposed_full,
        proposed_incremental=proposed_incremental,
        proposed_rows_differing=differing,
        proposals=list(PROPOSALS),
        profile_scope=profile_scope,
        profile=profile,
        profile_proposed=profile_proposed,
    )


def run_task(name: str, arguments: dict[str, Any], profile: Path | None = None) -> TaskRun:
    """Run `python -m bench.task` and return its measurements."""
    command = [sys.executable, "-m", "bench.task", name, json.dumps(arguments)]
    if profile is not None:
        command += ["--profile", str(profile)]
    output = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if output.returncode != 0:
        raise RuntimeError(f"bench.task {name} failed with {output.returncode}:\n{output.stderr[-3000:]}")
    values = json.loads(output.stdout.strip().splitlines()[-1])
    extra = {key: value for key, value in values.items() if key not in ("seconds", "cpu_seconds", "max_rss_mb", "rows")}
    return TaskRun(values["seconds"], values["cpu_seconds"], values["max_rss_mb"], values.get("rows"), extra)


def _write_day(database: Path, employees: int, day: dt.date) -> TaskRun:
    """Store one day of check-ins (an in and an out per employee) through `Store.write_batch`.

    Batches of 50 stand for the group commits of a busy morning.
    """
    import resource

    from ingest.payload import parse_delivery
    from ingest.store import AcceptDelivery, Store

    store = Store.open(database)
    now_ms = local_ms(day + dt.timedelta(days=1), 0)
    items = [
        AcceptDelivery(
            delivery=parse_delivery(body, "CHECKIN", now_ms),
            body=body,
            headers={"content-type": "application/json", "x-webhook-type": "CHECKIN"},
            received_at_ms=now_ms,
        )
        for body in day_bodies(make_employees(employees), day)
    ]
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    for first in range(0, len(items), 50):
        store.write_batch(items[first:first + 50])
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    store.close()
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return TaskRun(round(seconds, 3), round(cpu, 3), None, len(items))


def _rows_differing(database: Path, other: Path) -> int:
    """Count `daily_attendance` rows present in one database and not the other, both ways."""
    import sqlite3

    with sqlite3.connect(database) as conn:
        conn.execute("ATTACH DATABASE ? AS other", (str(other),))
        one_way = conn.execute(
            "SELECT count(*) FROM (SELECT * FROM main.daily_attendance EXCEPT SELECT * FROM other.daily_attendance)"
        ).fetchone()[0]
        other_way = conn.execute(
            "SELECT count(*) FROM (SELECT * FROM other.daily_attendance EXCEPT SELECT * FROM main.daily_attendance)"
        ).fetchone()[0]
    return one_way + other_way


def _profile(workdir: Path, employees: int, days: int) -> tuple[str, list[str], list[str]]:
    """Profile the full rollup on a smaller dataset, as it is and with the proposals."""
    database = workdir / f"rollup-profile-{employees}x{days}.db"
    _remove_database(database)
    dataset = generate(database, employees, days)
    proposed = workdir / f"rollup-profile-{employees}x{days}-proposed.db"
    _remove_database(proposed)
    shutil.copyfile(database, proposed)

    now_ms = local_ms(dataset.last_day + dt.timedelta(days=1), 6 * 60)
    profile_path = workdir / "rollup-full.prof"
    run_task("rollup", {"database": str(database), "now_ms": now_ms}, profile=profile_path)
    scope = f"{employees} employees × {dataset.days} days, {dataset.checkins:,} check-ins, cProfile, wall-clock timer"
    if not PROPOSALS:
        return scope, top_entries(profile_path, 30), []
    proposed_path = workdir / "rollup-full-proposed.prof"
    run_task("rollup", {"database": str(proposed), "now_ms": now_ms, "proposed": True}, profile=proposed_path)
    return scope, top_entries(profile_path, 30), top_entries(proposed_path, 20)


def _description(dataset: Dataset, new_day: dt.date) -> str:
    return (
        f"Dataset: {dataset.checkins:,} check-ins of {dataset.employees} employees from {dataset.first_day} to "
        f"{dataset.last_day} ({dataset.days} days), made by `bench/dataset.py` and bulk-inserted into the store's "
        "own schema (`Store.open`, then `executemany`), not through the write path. "
        "Baseline: one `CREATE TABLE … AS SELECT … GROUP BY workspace_id, user_id, local date` with min, max "
        "and count of the CHECKINs, committed with synchronous=FULL. Full rollup: `jobs.rollup.run_rollup` on a "
        f"database without rollup state, at {new_day} 06:00 local, so every month of every employee is computed "
        "(one row per employee and date of each month they appear in). Incremental: an in and an out for each "
        f"employee on {new_day} stored through `Store.write_batch` in batches of 50, then `run_rollup` at "
        f"{new_day + dt.timedelta(days=1)} 06:00 (the dates around the new check-ins and the dates still open). "
        "Each timed step runs in a process of its own (`bench/task.py`); max RSS is that process's peak, imports "
        "included."
    )


def _remove_database(database: Path) -> None:
    for path in database.parent.glob(database.name + "*"):
        path.unlink()
