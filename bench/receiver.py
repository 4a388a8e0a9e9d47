"""Receiver figures: throughput against a bare handler, FULL against NORMAL, latency headroom."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
import statistics
from pathlib import Path

from bench.openloop import OpenLoopResult, run_open_loop
from bench.servers import running_server
from bench.wrk import WrkResult, run_wrk

BASE_MS = int(dt.datetime(2026, 11, 1, tzinfo=dt.timezone(dt.timedelta(hours=7))).timestamp() * 1000)
"""Check-in times start at 01/11/2026 00:00 in Vietnam and rise one second per delivery."""

MORNING_PEAK_PER_S = 1000 / 600
"""1,000 employees checking in within 10 minutes."""


@dataclasses.dataclass(frozen=True)
class ThroughputFigures:
    """Median requests/s of each server over `rounds` interleaved wrk runs."""

    connections: int
    duration_s: int
    rounds: int
    bare: list[WrkResult]
    full: list[WrkResult]
    normal: list[WrkResult]

    @property
    def bare_per_s(self) -> float:
        return _median_rate(self.bare)

    @property
    def full_per_s(self) -> float:
        return _median_rate(self.full)

    @property
    def normal_per_s(self) -> float:
        return _median_rate(self.normal)

    @property
    def full_vs_bare(self) -> float:
        """The throughput goal's ratio: at least 0.5."""
        return round(self.full_per_s / self.bare_per_s, 3)

    @property
    def full_vs_normal(self) -> float:
        """The durability goal's ratio: at least 0.7."""
        return round(self.full_per_s / self.normal_per_s, 3)

    @property
    def errors(self) -> int:
        return sum(run.non_2xx + run.socket_errors for run in [*self.bare, *self.full, *self.normal])


@dataclasses.dataclass(frozen=True)
class DatabaseCheck:
    """What the database holds after the latency runs, against what was sent."""

    distinct_sent: int
    repeats_sent: int
    checkins: int
    deliveries: int
    duplicate_outcomes: int
    natural_keys_stored_twice: int

    @property
    def consistent(self) -> bool:
        return (
            self.checkins == self.distinct_sent
            and self.deliveries == self.distinct_sent + self.repeats_sent
            and self.duplicate_outcomes == self.repeats_sent
            and self.natural_keys_stored_twice == 0
        )


@dataclasses.dataclass(frozen=True)
class LatencyFigures:
    """Constant-rate runs against one receiver (synchronous=FULL) and the database after."""

    runs: list[OpenLoopResult]
    highest_sustained: OpenLoopResult | None
    database: DatabaseCheck


def measure_throughput(workdir: Path, connections: int, duration_s: int, rounds: int) -> ThroughputFigures:
    """Run wrk against the bare handler, the receiver with FULL and with NORMAL, `rounds` times.

    The three servers take turns within each round, so a slow spell of the machine
    hits all three alike. Each receiver run starts on a new database file.
    """
    bare, full, normal = [], [], []
    for round_number in range(rounds):
        with running_server("bare", workdir) as server:
            bare.append(run_wrk(server.url, connections, duration_s, BASE_MS))
        for synchronous, results in (("FULL", full), ("NORMAL", normal)):
            database = workdir / f"throughput-{synchronous.lower()}-{round_number}.db"
            with running_server("receiver", workdir, database, synchronous) as server:
                results.append(run_wrk(server.url, connections, duration_s, BASE_MS))
    return ThroughputFigures(connections, duration_s, rounds, bare, full, normal)


def measure_latency(
    workdir: Path, fixed_rates: list[tuple[float, float]], search_rates: list[float], search_duration_s: float
) -> LatencyFigures:
    """Run each (rate, seconds) of `fixed_rates`, then `search_rates` upwards until one fails.

    A rate is sustained when every request got 200 (repeats `duplicate`), the
    completed rate is within 3 % of it and the slowest request took under 1 s. The
    search stops at the first rate that is not. All runs share one database.
    """
    database = workdir / "latency.db"
    runs: list[OpenLoopResult] = []
    highest: OpenLoopResult | None = None
    next_number = 0
    with running_server("receiver", workdir, database, "FULL") as server:
        for rate, seconds in fixed_rates:
            runs.append(run_open_loop(server.url, rate, seconds, BASE_MS, first_number=next_number))
            next_number += runs[-1].distinct
        for rate in search_rates:
            run = run_open_loop(server.url, rate, search_duration_s, BASE_MS, first_number=next_number)
            next_number += run.distinct
            runs.append(run)
            if not _sustained(run):
                break
            highest = run
    return LatencyFigures(runs, highest, check_database(database, runs))


def check_database(database: Path, runs: list[OpenLoopResult]) -> DatabaseCheck:
    """Count what the receiver stored against what the runs sent."""
    with sqlite3.connect(database) as conn:
        checkins = conn.execute("SELECT count(*) FROM checkins").fetchone()[0]
        deliveries = conn.execute("SELECT count(*) FROM deliveries").fetchone()[0]
        duplicates = conn.execute("SELECT count(*) FROM deliveries WHERE outcome = 'duplicate'").fetchone()[0]
        twice = conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM checkins GROUP BY workspace_id, user_id, checkin_timestamp,"
            " webhook_type HAVING count(*) > 1)"
        ).fetchone()[0]
    return DatabaseCheck(
        distinct_sent=sum(run.distinct for run in runs),
        repeats_sent=sum(run.repeats for run in runs),
        checkins=checkins,
        deliveries=deliveries,
        duplicate_outcomes=duplicates,
        natural_keys_stored_twice=twice,
    )


def _median_rate(runs: list[WrkResult]) -> float:
    return round(statistics.median(run.requests_per_s for run in runs), 1)


def _sustained(run: OpenLoopResult) -> bool:
    return run.clean and run.completed_per_s >= 0.97 * run.rate_per_s and run.max_ms < 1000
