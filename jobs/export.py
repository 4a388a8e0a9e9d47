"""Build the month's tables from `daily_attendance` and the check-ins, and write them.

`build_month_tables` reads the database and returns plain `exporters.tables.Table`s:
the monthly grid (bảng chấm công), the daily detail, the check-in log and the event
attendance. `export_excel` rolls up what is pending first, so a workbook never shows
figures older than its check-ins.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pendulum
import sqlite_utils

from exporters import excel
from exporters.tables import (
    CHECKIN_LOG_COLUMNS,
    CHECKIN_LOG_TABLE_KEY,
    CHECKIN_LOG_SHEET_NAME,
    DAILY_COLUMNS,
    DAILY_FROZEN_COLUMNS,
    DAILY_SHEET_NAME,
    DAILY_TABLE_KEY,
    DATE_KIND_LABELS,
    EVENT_COLUMNS,
    EVENT_SHEET_NAME,
    EVENT_TABLE_KEY,
    GRID_FROZEN_COLUMNS,
    GRID_SHEET_NAME,
    GRID_TABLE_KEY,
    SHIFT_SOURCE_LABELS,
    STATUS_LABELS,
    WEEKDAY_LABELS,
    YES_LABEL,
    Fill,
    Label,
    Language,
    Row,
    RowShape,
    Table,
    day_key,
    legend_lines,
    month_grid_columns,
    signature_lines,
)
from ingest.store import Store
from jobs.calendar import Calendar
from jobs.figures import DateKind, DayFigures, HolidayKind, ShiftSource, Status, WebhookType
from jobs.rollup import EmployeeKey, open_attendance_db, run_rollup, to_rule_checkin, with_earlier_office
from jobs.rules import attribute
from jobs.settings import Settings
from jobs.timesheet import EmployeeMonth, summarize_month

log = logging.getLogger(__name__)

MONTH_PATTERN = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")

TITLE = Label("BẢNG CHẤM CÔNG", "TIMESHEET")
MONTH_TITLE = Label("Tháng {month} năm {year}", "Month {month}/{year}")
DAILY_CAP_FLAG = Label("Làm thêm quá 50% giờ làm trong ngày: {dates}", "Daily overtime cap exceeded: {dates}")
MONTH_CAP_FLAG = Label("Làm thêm quá {hours} giờ/tháng", "Over {hours} h overtime in the month")
YEAR_CAP_FLAG = Label("Làm thêm quá {hours} giờ/năm", "Over {hours} h overtime in the year")


@dataclasses.dataclass(frozen=True)
class Month:
    """A calendar month in the firm's zone, with its bounds as Unix ms."""

    year: int
    month: int
    timezone: str

    @classmethod
    def parse(cls, text: str, timezone: str) -> Month:
        """Parse 'YYYY-MM'; raise ValueError naming the bad value otherwise."""
        match = MONTH_PATTERN.match(text.strip())
        if not match:
            raise ValueError(f"month must look like 2026-11 (YYYY-MM), got {text!r}")
        return cls(int(match.group(1)), int(match.group(2)), timezone)

    @property
    def label(self) -> str:
        """Return 'YYYY-MM'."""
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def days(self) -> list[dt.date]:
        """Return every date of the month."""
        first = pendulum.date(self.year, self.month, 1)
        return [first.add(days=n) for n in range(first.days_in_month)]

    def bounds_ms(self, margin_days: int = 0) -> tuple[int, int]:
        """Return [first local midnight, next month's first local midnight) in Unix ms, widened by `margin_days`."""
        begin = pendulum.datetime(self.year, self.month, 1, tz=self.timezone).subtract(days=margin_days)
        end = pendulum.datetime(self.year, self.month, 1, tz=self.timezone).add(months=1, days=margin_days)
        return int(begin.timestamp() * 1000), int(end.timestamp() * 1000)


def export_excel(store: Store, settings: Settings, month: str, out: Path | None, now_ms: int) -> Path:
    """Roll up what is pending, then write the month's workbook; return its path.

    Without `out`, the file is `timesheet-YYYY-MM.xlsx` in the export directory.
    """
    parsed = Month.parse(month, settings.policy.timezone)
    run_rollup(store, settings, now_ms)
    tables = build_month_tables(store, settings, parsed, now_ms)

    path = out if out is not None else settings.export.directory / f"timesheet-{parsed.label}.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    written = excel.write_workbook(tables, path, settings.export.language)
    log.info("excel export of %s written to %s (%d employees)", parsed.label, written, len(tables[0].rows))
    return written


def build_month_tables(store: Store, settings: Settings, month: Month, now_ms: int) -> list[Table]:
    """Return the grid, the daily detail, the check-in log and the event attendance of `month`."""
    language = settings.export.language
    db = open_attendance_db(store)
    try:
        days_by_employee = _month_figures(db, month)
        first_work_dates = _first_work_dates(db)
        overtime_before = _overtime_before_month(db, month)
    finally:
        db.close()
    employees = store.employees()

    months = {
        key: summarize_month(
            days,
            first_work_dates.get(key),
            settings.policy,
            settings.export.symbols,
            overtime_before.get(key, 0),
        )
        for key, days in days_by_employee.items()
    }
    return [
        _grid_table(month, days_by_employee, months, employees, settings, language, now_ms),
        _daily_table(month, days_by_employee, first_work_dates, employees, language),
        _checkin_log_table(store, settings, month, employees, language),
        _event_table(store, month, employees),
    ]


def _month_figures(db: sqlite_utils.Database, month: Month) -> dict[EmployeeKey, list[DayFigures]]:
    """Read every employee's rows of `month`, ordered by employee and date."""
    cursor = db.execute(
        "SELECT * FROM daily_attendance WHERE month = ? ORDER BY workspace_id, user_id, date",
        [month.label],
    )
    names = [c[0] for c in cursor.description]
    result: dict[EmployeeKey, list[DayFigures]] = defaultdict(list)
    for values in cursor.fetchall():
        row = dict(zip(names, values))
        result[(row["workspace_id"], row["user_id"])].append(row_to_figures(row))
    return dict(result)


def row_to_figures(row: dict[str, Any]) -> DayFigures:
    """Turn a `daily_attendance` row back into the figures it was written from."""
    return DayFigures(
        date=dt.date.fromisoformat(row["date"]),
        kind=DateKind(row["kind"]),
        holiday_kind=HolidayKind(row["holiday_kind"]) if row["holiday_kind"] else None,
        on_weekday=bool(row["on_weekday"]),
        status=Status(row["status"]),
        shift_source=ShiftSource(row["shift_source"]),
        shift_begin_ms=row["shift_begin_ms"],
        shift_end_ms=row["shift_end_ms"],
        shift_workday=row["shift_workday"],
        shift_normal_minutes=row["shift_normal_minutes"],
        office_location=row["office_location"],
        conflict=row["conflict"],
        first_in_ms=row["first_in_ms"],
        last_out_ms=row["last_out_ms"],
        checkin_count=row["checkin_count"],
        time_at_work_minutes=row["time_at_work_minutes"],
        late_minutes=row["late_minutes"],
        early_leave_minutes=row["early_leave_minutes"],
        worked_minutes=row["worked_minutes"],
        overtime_workday_minutes=row["overtime_workday_minutes"],
        overtime_dayoff_minutes=row["overtime_dayoff_minutes"],
        overtime_holiday_minutes=row["overtime_holiday_minutes"],
        overtime_minutes=row["overtime_minutes"],
        overtime_night_minutes=row["overtime_night_minutes"],
        night_minutes=row["night_minutes"],
        workday=row["workday"],
        needs_explanation=bool(row["needs_explanation"]),
        overtime_over_daily_cap=bool(row["overtime_over_daily_cap"]),
    )


def _first_work_dates(db: sqlite_utils.Database) -> dict[EmployeeKey, dt.date]:
    """Return the work date of each employee's earliest CHECKIN.

    Rows exist for every month an employee appears in, so the earliest date with a
    check-in among all rows is the work date of the earliest CHECKIN.
    """
    rows = db.execute(
        "SELECT workspace_id, user_id, MIN(date) FROM daily_attendance WHERE checkin_count > 0 GROUP BY 1, 2"
    ).fetchall()
    return {(ws, uid): dt.date.fromisoformat(first) for ws, uid, first in rows}


def _overtime_before_month(db: sqlite_utils.Database, month: Month) -> dict[EmployeeKey, int]:
    """Return each employee's counted overtime minutes from 1 January to the month's start."""
    rows = db.execute(
        "SELECT workspace_id, user_id, SUM(overtime_minutes) FROM daily_attendance"
        " WHERE date >= ? AND date < ? AND status != ? GROUP BY 1, 2",
        [f"{month.year:04d}-01-01", f"{month.label}-01", Status.OPEN.value],
    ).fetchall()
    return {(ws, uid): minutes or 0 for ws, uid, minutes in rows}


def _grid_table(
    month: Month,
    days_by_employee: dict[EmployeeKey, list[DayFigures]],
    months: dict[EmployeeKey, EmployeeMonth],
    employees: dict[EmployeeKey, Any],
    settings: Settings,
    language: Language,
    now_ms: int,
) -> Table:
    """Lay out the 01a-LĐTL grid: a row per employee, a symbol per date, the totals."""
    rows: list[dict[str, Any]] = []
    fills: dict[tuple[int, str], Fill] = {}
    for index, key in enumerate(sorted(days_by_employee)):
        employee = employees.get(key)
        summary = months[key]
        totals = summary.totals
        row: dict[str, Any] = {
            "stt": index + 1,
            "user_id": key[1],
            "name": getattr(employee, "name", None),
            "office": getattr(employee, "office_location", None),
        }
        for day in days_by_employee[key]:
            row[day_key(day.date.day)] = summary.symbols.get(day.date, "")
            fill = _fill_of(day)
            if fill is not None:
                fills[(index, day_key(day.date.day))] = fill
        row.update(
            workdays=totals.workdays,
            paid_holidays=totals.paid_holidays,
            payable_days=totals.payable_days,
            standard_workdays=totals.standard_workdays,
            absent_days=totals.days_absent,
            missing_checkout_days=totals.days_missing_checkout,
            late_count=totals.times_late,
            late_minutes=totals.minutes_late,
            early_leave_count=totals.times_early,
            early_leave_minutes=totals.minutes_early,
            overtime_workday_hours=totals.overtime_workday_hours,
            overtime_dayoff_hours=totals.overtime_dayoff_hours,
            overtime_holiday_hours=totals.overtime_holiday_hours,
            overtime_night_hours=totals.overtime_night_hours,
            night_hours=totals.night_hours,
            overtime_year_hours=totals.overtime_ytd_hours,
            overtime_cap_flags=_cap_flags(summary, settings, language),
        )
        rows.append(row)

    company = [settings.export.company_name] if settings.export.company_name else []
    title_lines = [
        *company,
        TITLE.text(language),
        MONTH_TITLE.text(language).format(month=month.month, year=month.year),
    ]
    symbols = dataclasses.asdict(settings.export.symbols)
    signatures = signature_lines(language) if settings.export.signatures else []
    return Table(
        key=GRID_TABLE_KEY,
        name_vi=GRID_SHEET_NAME.vi,
        name_en=GRID_SHEET_NAME.en,
        columns=month_grid_columns(month.year, month.month),
        rows=rows,
        fills=fills,
        title_lines=title_lines,
        footer_lines=[*legend_lines(symbols, language), *signatures],
        frozen_columns=GRID_FROZEN_COLUMNS,
    )


def _fill_of(day: DayFigures) -> Fill | None:
    if day.kind is DateKind.HOLIDAY:
        return Fill.HOLIDAY
    if day.kind is DateKind.REST:
        return Fill.REST
    return None


def _cap_flags(summary: EmployeeMonth, settings: Settings, language: Language) -> str | None:
    """Name each legal overtime cap the employee went past, or None."""
    totals = summary.totals
    flags = []
    if totals.dates_over_daily_cap:
        dates = ", ".join(d.strftime("%d/%m") for d in totals.dates_over_daily_cap)
        flags.append(DAILY_CAP_FLAG.text(language).format(dates=dates))
    if totals.over_month_cap:
        flags.append(MONTH_CAP_FLAG.text(language).format(hours=settings.policy.overtime_month_cap_hours))
    if totals.over_year_cap:
        flags.append(YEAR_CAP_FLAG.text(language).format(hours=settings.policy.overtime_year_cap_hours))
    return "; ".join(flags) or None


def _daily_table(
    month: Month,
    days_by_employee: dict[EmployeeKey, list[DayFigures]],
    first_work_dates: dict[EmployeeKey, dt.date],
    employees: dict[EmployeeKey, Any],
    language: Language,
) -> Table:
    """Lay out one row per employee and date from their first work date; open dates show no figures."""
    shape = RowShape(DAILY_COLUMNS)
    shared = _SharedText()
    rows: list[Row] = []
    fills: dict[tuple[int, str], Fill] = {}
    for key in sorted(days_by_employee):
        employee = employees.get(key)
        first_work_date = first_work_dates.get(key)
        for day in days_by_employee[key]:
            if first_work_date is None or day.date < first_work_date:
                continue
            row = _daily_row(key, day, employee, month.timezone, language)
            row["office_location"] = shared(row["office_location"])
            fill = _fill_of(day)
            if fill is not None:
                fills[(len(rows), "date")] = fill
            rows.append(shape.row(row))
    return Table(
        key=DAILY_TABLE_KEY,
        name_vi=DAILY_SHEET_NAME.vi,
        name_en=DAILY_SHEET_NAME.en,
        columns=DAILY_COLUMNS,
        rows=rows,
        fills=fills,
        frozen_columns=DAILY_FROZEN_COLUMNS,
    )


def _daily_row(key: EmployeeKey, day: DayFigures, employee: Any, timezone: str, language: Language) -> dict[str, Any]:
    row: dict[str, Any] = {
        "user_id": key[1],
        "name": getattr(employee, "name", None),
        "office_location": day.office_location,
        "date": day.date,
        "weekday": WEEKDAY_LABELS[day.date.isoweekday()].text(language),
        "kind": DATE_KIND_LABELS[day.kind.value].text(language),
        "status": STATUS_LABELS[day.status.value].text(language),
        "shift_begin": local_datetime(day.shift_begin_ms, timezone),
        "shift_end": local_datetime(day.shift_end_ms, timezone),
        "shift_source": SHIFT_SOURCE_LABELS[day.shift_source.value].text(language),
        "first_in": local_datetime(day.first_in_ms, timezone),
        "last_out": local_datetime(day.last_out_ms, timezone),
        "checkin_count": day.checkin_count,
        "conflict": day.conflict,
    }
    if day.status is Status.OPEN:
        return row
    row.update(
        late_minutes=day.late_minutes,
        early_leave_minutes=day.early_leave_minutes,
        worked_minutes=day.worked_minutes,
        overtime_workday_minutes=day.overtime_workday_minutes,
        overtime_dayoff_minutes=day.overtime_dayoff_minutes,
        overtime_holiday_minutes=day.overtime_holiday_minutes,
        overtime_minutes=day.overtime_minutes,
        overtime_night_minutes=day.overtime_night_minutes,
        night_minutes=day.night_minutes,
        workday=day.workday,
        needs_explanation=YES_LABEL.text(language) if day.needs_explanation else None,
    )
    return row


def _checkin_log_table(
    store: Store, settings: Settings, month: Month, employees: dict[EmployeeKey, Any], language: Language
) -> Table:
    """List every CHECKIN of the month by local time, with the work date it belongs to."""
    begin_ms, end_ms = month.bounds_ms()
    margin_begin, margin_end = month.bounds_ms(margin_days=4)
    timezone = month.timezone
    calendar = Calendar(settings.policy)

    # One employee's check-ins at a time: holding the whole month's at once took more
    # memory than the rows themselves (about 90,000 check-ins for 1,000 employees).
    shape = RowShape(CHECKIN_LOG_COLUMNS)
    shared = _SharedText()
    rows: list[Row] = []
    for key in sorted(employees):
        stored_rows = store.checkins_of(key[0], key[1], margin_begin, margin_end, WebhookType.CHECKIN.value)
        if not stored_rows:
            continue
        checkins = with_earlier_office(store, key, margin_begin, [to_rule_checkin(s) for s in stored_rows])
        work_dates = attribute(checkins, settings.policy, calendar, user_id=key[1])[len(checkins) - len(stored_rows):]
        for stored, work_date in zip(stored_rows, work_dates):
            if begin_ms <= stored.checkin_timestamp < end_ms:
                rows.append(shape.row(_log_row(key, stored, work_date, employees.get(key), timezone, shared)))
    rows.sort(key=lambda row: (row["checkin_time"], row["user_id"]))
    return Table(
        key=CHECKIN_LOG_TABLE_KEY,
        name_vi=CHECKIN_LOG_SHEET_NAME.vi,
        name_en=CHECKIN_LOG_SHEET_NAME.en,
        columns=CHECKIN_LOG_COLUMNS,
        rows=rows,
    )


def _log_row(
    key: EmployeeKey, stored: Any, work_date: dt.date, employee: Any, timezone: str, shared: _SharedText
) -> dict[str, Any]:
    group = stored.working_group
    return {
        "checkin_time": local_datetime(stored.checkin_timestamp, timezone),
        "work_date": work_date,
        "user_id": key[1],
        "name": shared(stored.name or getattr(employee, "name", None)),
        "office_location": shared(stored.office_location),
        "machine_id": shared(stored.machine_id),
        "working_group_begin": _clock_time(group[0]) if group else None,
        "working_group_end": _clock_time(group[1]) if group else None,
        "working_group_conflict": stored.working_group_conflict,
        "webhook_type": stored.webhook_type,
    }


class _SharedText:
    """Return one shared object for equal texts, so a large table keeps each name once.

    Each check-in read from SQLite brings its own copy of the employee's name, office
    and machine, which the log would otherwise keep 90,000 times over.
    """

    def __init__(self) -> None:
        self._seen: dict[str, str] = {}

    def __call__(self, text: str | None) -> str | None:
        return None if text is None else self._seen.setdefault(text, text)


def _event_table(store: Store, month: Month, employees: dict[EmployeeKey, Any]) -> Table:
    """List every JOIN_EVENT check-in of the month by local time."""
    begin_ms, end_ms = month.bounds_ms()
    rows = []
    for stored in store.checkins_between(begin_ms, end_ms, webhook_type=WebhookType.JOIN_EVENT.value):
        local = local_datetime(stored.checkin_timestamp, month.timezone)
        employee = employees.get((stored.workspace_id, stored.user_id))
        rows.append(
            {
                "checkin_time": local,
                "date": local.date() if local else None,
                "user_id": stored.user_id,
                "name": stored.name or getattr(employee, "name", None),
                "office_location": stored.office_location,
                "machine_id": stored.machine_id,
            }
        )
    rows.sort(key=lambda row: (row["checkin_time"], row["user_id"]))
    return Table(
        key=EVENT_TABLE_KEY,
        name_vi=EVENT_SHEET_NAME.vi,
        name_en=EVENT_SHEET_NAME.en,
        columns=EVENT_COLUMNS,
        rows=rows,
    )


def local_datetime(instant_ms: int | None, timezone: str) -> dt.datetime | None:
    """Return the naive local wall time of a Unix-ms instant, to the second, or None."""
    if instant_ms is None:
        return None
    local = pendulum.from_timestamp(instant_ms // 1000, tz=timezone)
    return dt.datetime(local.year, local.month, local.day, local.hour, local.minute, local.second)


def _clock_time(minutes: int) -> dt.datetime:
    """Return a clock time as a datetime on Excel's day zero, so only HH:MM shows."""
    return dt.datetime(1899, 12, 30, minutes // 60, minutes % 60)
