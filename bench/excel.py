"""Excel figures: the month's workbook against openpyxl write-only without styles."""

from __future__ import annotations

import dataclasses
import datetime as dt
import pickle
from pathlib import Path

from bench.dataset import generate, local_ms
from bench.profiles import top_entries
from bench.rollup import TaskRun, run_task

EXPORT_MONTH = "2025-01"
DATASET_DAYS = 45
"""January 2025 and half of February: the exported month is whole and closed."""


@dataclasses.dataclass(frozen=True)
class ExcelRun:
    """One workbook written by `bench.task` in a process of its own."""

    seconds: float
    cpu_seconds: float
    max_rss_mb: float
    file_bytes: int


@dataclasses.dataclass(frozen=True)
class ExcelFigures:
    """The styled workbook against the unstyled baseline, on the same tables."""

    description: str
    employees: int
    rows_per_sheet: dict[str, int]
    cells: int
    tables_process_rss_mb: float
    tables_traced_mb: float
    """Python allocations that the unpickled tables hold (tracemalloc)."""
    writer_traced_peak_mb: float
    """Peak of Python allocations made by `write_workbook` itself, the tables excluded (tracemalloc)."""
    export_command: ExcelRun
    """`jobs.export.export_excel` in a process of its own: rollup check, tables and workbook, as the CLI runs it."""
    plain: ExcelRun
    styled: ExcelRun
    profile: list[str]

    @property
    def styled_vs_plain(self) -> float:
        """The goal's ratio, on wall-clock time: at most 2.5."""
        return round(self.styled.seconds / self.plain.seconds, 2)

    @property
    def styled_vs_plain_cpu(self) -> float:
        return round(self.styled.cpu_seconds / self.plain.cpu_seconds, 2)


def measure(workdir: Path, employees: int) -> ExcelFigures:
    """Build the month's tables from a rolled-up dataset, then write them both ways."""
    tables_path = month_tables(workdir, employees)
    loaded = run_task("excel-load", {"tables": str(tables_path)})
    baseline_rss = loaded.max_rss_mb
    tables = pickle.loads(tables_path.read_bytes())
    rows = {table.name("en"): len(table.rows) for table in tables}
    cells = sum(len(table.rows) * len(table.columns) for table in tables)

    arguments = {"tables": str(tables_path), "language": "vi"}
    plain = _run("excel-plain", {**arguments, "out": str(workdir / "plain.xlsx")})
    styled = _run("excel-styled", {**arguments, "out": str(workdir / "styled.xlsx")})
    traced = run_task("excel-styled", {**arguments, "out": str(workdir / "styled-traced.xlsx"), "traced": True})
    database, now_ms = _month_database(workdir, employees)
    whole = run_task("export-excel", {"database": str(database), "month": EXPORT_MONTH, "now_ms": now_ms,
                                      "out": str(workdir / "exported.xlsx")})
    profile_path = workdir / "excel.prof"
    run_task("excel-styled", {**arguments, "out": str(workdir / "styled-profiled.xlsx")}, profile=profile_path)

    return ExcelFigures(
        description=_description(employees, rows, cells),
        employees=employees,
        rows_per_sheet=rows,
        cells=cells,
        tables_process_rss_mb=baseline_rss,
        tables_traced_mb=loaded.extra["traced_mb"],
        writer_traced_peak_mb=traced.extra["traced_peak_mb"],
        export_command=ExcelRun(whole.seconds, whole.cpu_seconds, whole.max_rss_mb, whole.extra["file_bytes"]),
        plain=plain,
        styled=styled,
        profile=top_entries(profile_path, 20),
    )


def month_tables(workdir: Path, employees: int) -> Path:
    """Return a pickle of EXPORT_MONTH's tables for `employees`, built once per work folder.

    Generates DATASET_DAYS days of check-ins, rolls them up and calls
    `jobs.export.build_month_tables`, as `export excel` does.
    """
    from bench.servers import REPO
    from ingest.store import Store
    from jobs.export import Month, build_month_tables
    from jobs.rollup import run_rollup
    from jobs.settings import load_settings

    tables_path = workdir / f"month-tables-{employees}.pickle"
    if tables_path.exists():
        return tables_path
    database = workdir / f"month-{employees}x{DATASET_DAYS}.db"
    for path in workdir.glob(database.name + "*"):
        path.unlink()
    generate(database, employees, DATASET_DAYS)
    database, now_ms = _month_database(workdir, employees)

    settings = load_settings(REPO / "config.toml", {})
    store = Store.open(database)
    try:
        run_rollup(store, settings, now_ms)
        tables = build_month_tables(store, settings, Month.parse(EXPORT_MONTH, settings.policy.timezone), now_ms)
    finally:
        store.close()
    tables_path.write_bytes(pickle.dumps(tables))
    return tables_path


def _month_database(workdir: Path, employees: int) -> tuple[Path, int]:
    """Return the month's database for `employees` and the moment (Unix ms) it is rolled up at."""
    from bench.dataset import FIRST_DAY

    last_day = FIRST_DAY + dt.timedelta(days=DATASET_DAYS - 1)
    return workdir / f"month-{employees}x{DATASET_DAYS}.db", local_ms(last_day + dt.timedelta(days=1), 6 * 60)


def _run(task: str, arguments: dict) -> ExcelRun:
    run = run_task(task, arguments)
    return ExcelRun(run.seconds, run.cpu_seconds, run.max_rss_mb, Path(arguments["out"]).stat().st_size)


def _description(employees: int, rows: dict[str, int], cells: int) -> str:
    sheets = ", ".join(f"{count:,}" for count in rows.values())
    return (
        f"The workbook of {EXPORT_MONTH} for {employees} employees from `jobs.export.build_month_tables` on a "
        f"generated and rolled-up dataset ({DATASET_DAYS} days, `bench/dataset.py`): {len(rows)} sheets of "
        f"{sheets} rows, {cells:,} cells. The tables are built once, pickled, and each writer runs in a process "
        "of its own that loads them (`bench/task.py`); the timer covers the writing alone. Baseline: openpyxl "
        "write-only mode appending the same header labels and cell values, no styles, no widths, no freeze, "
        "no atomic rename."
    )
