"""Receiver figures: throughput against a bare handler, FULL against NORMAL, latency headroom."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
import statistics
from pathlib import Path

from bench.openloop import OpenLoopResult, run_open_loop
from bench.receiver_proposals import PROPOSALS
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
    bare_quiet: list[WrkResult]
    """The bare handler with log level `warning`: no access log line per request."""
    full_quiet: list[WrkResult]
    """The receiver (FULL) with log level `warning`: no access log, no line per delivery."""
    full_proposed: list[WrkResult]
    """The receiver (FULL, log level `info`) with `bench.receiver_proposals` patched in."""
    full_quiet_proposed: list[WrkResult]
    """The receiver (FULL, log level `warning`) with `bench.receiver_proposals` patched in."""
    proposals: list[str]

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
    def full_vs_bare_quiet(self) -> float:
        """The throughput ratio when neither server logs each request."""
        return round(_median_rate(self.full_quiet) / _median_rate(self.bare_quiet), 3)

    @property
    def proposed_vs_bare(self) -> float:
        return round(_median_rate(self.full_proposed) / _median_rate(self.bare), 3)

    @property
    def proposed_vs_bare_quiet(self) -> float:
        return round(_median_rate(self.full_quiet_proposed) / _median_rate(self.bare_quiet), 3)

    @property
    def errors(self) -> int:
        runs = [*self.bare, *self.full, *self.normal, *self.bare_quiet, *self.full_quiet,
                *self.full_proposed, *self.full_quiet_proposed]
        return sum(run.non_2xx + run.socket_errors for run in runs)


@dataclasses.dataclass(frozen=True)
class DatabaseCheck:
    """Counts in the database after the latency runs, beside what the runs sent."""

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

    @property
    def highest_within_goal(self) -> OpenLoopResult | None:
        """The highest sustained rate whose p99 is also under 100 ms."""
        good = [run for run in self.runs if _sustained(run) and run.p99_ms < 100]
        return max(good, key=lambda run: run.rate_per_s, default=None)


def measure_throughput(workdir: Path, connections: int, duration_s: int, rounds: int) -> ThroughputFigures:
    """Run wrk against each server configuration, `rounds` times.

    The configurations take turns within each round, so a slow spell of the
    machine hits all of them alike. Each receiver run starts on a new database.
    """
    configurations = [
        ("bare", "bare", None, "info", False),
        ("full", "receiver", "FULL", "info", False),
        ("normal", "receiver", "NORMAL", "info", False),
        ("bare_quiet", "bare", None, "warning", False),
        ("full_quiet", "receiver", "FULL", "warning", False),
        ("full_proposed", "receiver", "FULL", "info", True),
        ("full_quiet_proposed", "receiver", "FULL", "warning", True),
    ]
    runs: dict[str, list[WrkResult]] = {name: [] for name, *_ in configurations}
    for round_number in range(rounds):
        for name, kind, synchronous, log_level, proposed in configurations:
            database = workdir / f"throughput-{name}-{round_number}.db" if kind == "receiver" else None
            with running_server(kind, workdir, database, synchronous or "FULL", log_level=log_level, proposed=proposed) as server:
                runs[name].append(run_wrk(server.url, connections, duration_s, BASE_MS, server_pid=server.process.pid))
    return ThroughputFigures(connections, duration_s, rounds, **runs, proposals=list(PROPOSALS))


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


def profile_under_load(workdir: Path, connections: int, duration_s: int) -> list[str]:
    """Sample the receiver (FULL, log level warning) with py-spy while wrk drives it.

    py-spy samples every thread from outside the process, so the writer thread shows
    beside the event loop and the code runs at full speed. Returns the summary lines,
    or one line saying why there is none.
    """
    import shutil
    import subprocess
    import sys

    from bench.flame import summarise

    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        return ["py-spy is not installed (`bash bench/run` installs it into .venv); no profile taken."]
    database = workdir / "profile.db"
    output = workdir / "receiver-py-spy.txt"
    with running_server("receiver", workdir, database, "FULL", log_level="warning") as server:
        sampler = subprocess.Popen(
            [spy, "record", "--pid", str(server.process.pid), "--rate", "200", "--duration", str(duration_s),
             "--format", "raw", "--output", str(output), "--threads", "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        run_wrk(server.url, connections, duration_s + 1, BASE_MS)
        sampler.wait(timeout=60)
    if not output.exists():
        return [f"py-spy exited with {sampler.returncode} and wrote no profile (it needs ptrace permission)."]
    return summarise(output)
