"""The jobs that `serve` schedules and the command line runs, composed from parts.

The rollup and the Excel export are `jobs.rollup.run_rollup` and
`jobs.export.export_excel`. The Sheets export is composed here: roll up, build the
month's tables, and hand them to `exporters.sheets.export_to_sheets`.
"""

from __future__ import annotations

from pathlib import Path

from exporters.sheets import SheetsExportResult, export_to_sheets
from ingest.store import Store
from jobs.export import Month, build_month_tables, export_excel
from jobs.maintenance import RetentionResult, apply_retention
from jobs.rollup import run_rollup
from jobs.schedule import ScheduledJobs
from jobs.settings import Settings


def export_sheets(store: Store, settings: Settings, month: str, now_ms: int) -> SheetsExportResult:
    """Roll up what is pending and rewrite the month's tabs in the Google spreadsheet.

    Raises ValueError for a malformed month and `exporters.sheets.SheetsError` when
    Sheets is not configured or Google rejects or keeps failing the export.
    """
    parsed = Month.parse(month, settings.policy.timezone)
    run_rollup(store, settings, now_ms)
    tables = build_month_tables(store, settings, parsed, now_ms)
    return export_to_sheets(
        tables,
        parsed.label,
        spreadsheet=settings.sheets.spreadsheet or "",
        credentials_file=settings.sheets.credentials_file,
        language=settings.export.language,
    )


def scheduled_jobs(store: Store, settings: Settings) -> ScheduledJobs:
    """Return the jobs of `serve`'s ticks: Sheets only when a spreadsheet is named, retention only when on."""

    def rollup_job(now_ms: int) -> frozenset[str]:
        return run_rollup(store, settings, now_ms).months_changed

    def excel_job(month: str, now_ms: int) -> Path:
        return export_excel(store, settings, month, None, now_ms)

    def sheets_job(month: str, now_ms: int) -> str:
        return export_sheets(store, settings, month, now_ms).url

    def retention_job(now_ms: int) -> RetentionResult:
        return apply_retention(settings.database, settings.retention_days, now_ms)

    return ScheduledJobs(
        rollup=rollup_job,
        export_excel=excel_job,
        export_sheets=sheets_job if settings.sheets.configured else None,
        retention=retention_job if settings.retention_days > 0 else None,
    )
