"""One measured task in a fresh process, so its peak memory is its own.

    python -m bench.task TASK ARGUMENTS_JSON [--profile FILE]

The task prints one JSON object with what it returns and three measurements:
- `seconds`: wall clock of the task alone, after imports and set-up;
- `cpu_seconds`: user + system CPU time of the same span, which other work on the
  machine disturbs less;
- `max_rss_mb`: the process's peak resident memory (VmHWM), imports included.

With `--profile`, the task runs under cProfile and the statistics go to FILE; its
time is then not comparable.
"""

from __future__ import annotations

import cProfile
import json
import pickle
import resource
import sqlite3
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from jobs.settings import load_settings

REPO = Path(__file__).resolve().parent.parent


def rollup(arguments: dict[str, Any]):
    """Prepare `run_rollup` on the store at `database` at `now_ms`; return the timed call.

    With `proposed`, the changes of `bench.proposals` are patched in first.
    """
    from ingest.store import Store
    from jobs.rollup import run_rollup

    if arguments.get("proposed"):
        from bench.proposals import apply

        apply()
    store = Store.open(Path(arguments["database"]))
    settings = load_settings(REPO / "config.toml", {})

    def call() -> dict[str, Any]:
        result = run_rollup(store, settings, arguments["now_ms"])
        return {"rows": result.dates_recomputed, "employees": result.employees, "full": result.full}

    return call


def groupby(arguments: dict[str, Any]):
    """Prepare the baseline: one GROUP BY of the check-ins into a table, committed with FULL."""
    conn = sqlite3.connect(arguments["database"], isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")

    def call() -> dict[str, Any]:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DROP TABLE IF EXISTS bench_daily")
        conn.execute(
            "CREATE TABLE bench_daily AS SELECT workspace_id, user_id,"
            " date(checkin_timestamp / 1000, 'unixepoch', '+7 hours') AS day,"
            " min(checkin_timestamp) AS first_in_ms, max(checkin_timestamp) AS last_out_ms, count(*) AS checkins"
            " FROM checkins WHERE webhook_type = 'CHECKIN' GROUP BY workspace_id, user_id, day"
        )
        conn.execute("COMMIT")
        return {"rows": conn.execute("SELECT count(*) FROM bench_daily").fetchone()[0]}

    return call


def excel_styled(arguments: dict[str, Any]):
    """Prepare `write_workbook` of the pickled tables.

    With `traced`, tracemalloc follows the writing and the result contains the peak of
    Python allocations made while writing (the tables themselves excluded).
    """
    from exporters.excel import write_workbook

    tables = _load_tables(arguments["tables"])
    out = Path(arguments["out"])

    def call() -> dict[str, Any]:
        if arguments.get("traced"):
            tracemalloc.start()
        write_workbook(tables, out, arguments["language"])
        outcome: dict[str, Any] = {"file_bytes": out.stat().st_size}
        if arguments.get("traced"):
            outcome["traced_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
            tracemalloc.stop()
        return outcome

    return call


def excel_plain(arguments: dict[str, Any]):
    """Prepare the baseline: openpyxl write-only, the same header and cell values, no styles."""
    from openpyxl import Workbook

    tables = _load_tables(arguments["tables"])
    out = Path(arguments["out"])
    language = arguments["language"]

    def call() -> dict[str, Any]:
        workbook = Workbook(write_only=True)
        for table in tables:
            sheet = workbook.create_sheet(table.name(language)[:31])
            keys = [column.key for column in table.columns]
            sheet.append([column.label(language) for column in table.columns])
            for row in table.rows:
                sheet.append([row.get(key) for key in keys])
        workbook.save(out)
        return {"file_bytes": out.stat().st_size}

    return call


def _load_tables(path: str) -> list:
    with open(path, "rb") as file:
        return pickle.load(file)


def excel_load(arguments: dict[str, Any]):
    """Load the pickled tables, to measure what they take in memory (tracemalloc and RSS)."""

    def call() -> dict[str, Any]:
        tracemalloc.start()
        tables = _load_tables(arguments["tables"])
        traced = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        return {"rows": sum(len(table.rows) for table in tables), "traced_mb": round(traced / 2**20, 1)}

    return call


def export_excel(arguments: dict[str, Any]):
    """Prepare `jobs.export.export_excel` of `month` on a rolled-up database, as `export excel` runs it."""
    from ingest.store import Store
    from jobs.export import export_excel as export

    store = Store.open(Path(arguments["database"]))
    settings = load_settings(REPO / "config.toml", {})
    out = Path(arguments["out"])

    def call() -> dict[str, Any]:
        export(store, settings, arguments["month"], out, arguments["now_ms"])
        return {"file_bytes": out.stat().st_size}

    return call


def peak_rss_kib() -> int:
    """Return this process's peak resident memory in KiB (`VmHWM` of /proc/self/status).

    Not `getrusage().ru_maxrss`: Linux carries that over an exec from the forking
    parent, so a task started by a large parent would report the parent's peak.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("/proc/self/status has no VmHWM line; peak memory needs Linux")


TASKS = {"export-excel": export_excel, "excel-load": excel_load, "rollup": rollup, "groupby": groupby, "excel-styled": excel_styled, "excel-plain": excel_plain}


def main() -> None:
    name, arguments = sys.argv[1], json.loads(sys.argv[2])
    profile_path = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--profile" else None
    call = TASKS[name](arguments)

    profiler = cProfile.Profile() if profile_path else None
    before = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = before.ru_utime + before.ru_stime
    started = time.perf_counter()
    if profiler:
        outcome = profiler.runcall(call)
        profiler.dump_stats(profile_path)
    else:
        outcome = call()
    seconds = time.perf_counter() - started

    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_seconds = usage.ru_utime + usage.ru_stime - cpu_before
    print(json.dumps({
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu_seconds, 3),
        "max_rss_mb": round(peak_rss_kib() / 1024, 1),
        **outcome,
    }))


if __name__ == "__main__":
    main()
