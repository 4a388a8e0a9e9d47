"""The `acheckin-sync` command: thin commands over the receiver, rollup and exporters.

Each command loads the settings, calls one library function and prints the result
with rich in the configured language (`export.language`, Vietnamese by default).
Library errors become `click.ClickException`s that name the fix, so no command
prints a traceback for a mistake in config or input.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import re
import socket
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import click
import pendulum
from rich.console import Console
from rich.panel import Panel
from rich.table import Table as RichTable

from exporters.tables import Language
from ingest.store import Store
from jobs.doctor import Level
from jobs.cli_help import CONFIG_META, DEFAULT_CONFIG, LocalizedGroup, help_language, remember_config
from jobs.i18n import message
from jobs.schedule import Job, JobRun, connect, record_run, wall_clock_ms
from jobs.settings import Settings, SettingsError, load_settings, peek_language
from jobs.status import StatusReport, collect_status

log = logging.getLogger(__name__)

_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


@dataclasses.dataclass
class CliContext:
    """The group's options, and the settings once a command has loaded them.

    `meta` is click's `ctx.meta`, where a `--config` before or after the command
    records the config path.
    """

    meta: dict[str, Any]
    clock: Callable[[], int]
    _settings: Settings | None = None

    @property
    def config_path(self) -> Path:
        """Return the config file named by the last `--config`, the environment or the default."""
        return Path(self.meta.get(CONFIG_META, DEFAULT_CONFIG))

    def settings(self, keys_file_optional: bool = False) -> Settings:
        """Load and validate the config file once; raise a ClickException naming the bad key.

        The error is in the config's `export.language` when the file can be read that
        far, else in Vietnamese and then English.
        """
        if self._settings is None:
            try:
                self._settings = load_settings(self.config_path, os.environ, keys_file_optional=keys_file_optional)
            except SettingsError as exc:
                raise config_error(exc, peek_language(self.config_path)) from exc
        return self._settings


def config_error(error: SettingsError, language: Language | None) -> CliError:
    """Return the CLI error for an invalid config, in `language` or, for None, in both."""
    if language is not None:
        return CliError(message("config_invalid", language, detail=error.describe(language)), language)
    vietnamese = message("config_invalid", "vi", detail=error.describe("vi"))
    english = message("config_invalid", "en", detail=error.describe("en"))
    return CliError(f"{vietnamese}\n{english}")


def _console() -> Console:
    return Console(soft_wrap=True, highlight=False)


def say(language: Language, key: str, **values: object) -> None:
    """Print the message `key` in `language` (no rich markup, so brackets stay)."""
    _console().print(message(key, language, **values), markup=False)


class CliError(click.ClickException):
    """A command's error, shown as "Lỗi: ..." or "Error: ..." in its language, exit code 1."""

    def __init__(self, text: str, language: Language = "vi") -> None:
        super().__init__(text)
        self.language = language

    def show(self, file: IO[Any] | None = None) -> None:
        prefix = message("error_prefix", self.language)
        click.echo(f"{prefix}: {self.format_message()}", file=file or sys.stderr)


def fail(language: Language, key: str, **values: object) -> CliError:
    """Return the error carrying the message `key` in `language`."""
    return CliError(message(key, language, **values), language)


def _fixed_clock(text: str | None) -> Callable[[], int]:
    if text is None:
        return wall_clock_ms
    instant_ms = int(pendulum.parse(text).timestamp() * 1000)
    return lambda: instant_ms


@click.group(cls=LocalizedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=DEFAULT_CONFIG,
    show_default=True,
    envvar="ACHECKIN_SYNC_CONFIG",
    show_envvar=True,
    is_eager=True,
    callback=remember_config,
    help="The config file; relative paths inside it resolve against its folder. It may also follow the command.",
)
@click.option("--now", hidden=True, help="Fix the current instant at this ISO 8601 time, for tests and reproducible exports; serve ignores it and runs on the wall clock.")
@click.pass_context
def cli(ctx: click.Context, config_path: Path, now: str | None) -> None:
    """Receive ACheckin check-ins into SQLite and export monthly timesheets."""
    ctx.obj = CliContext(meta=ctx.meta, clock=_fixed_clock(now))


pass_cli = click.make_pass_decorator(CliContext)


# --- Shared steps ---------------------------------------------------------------------


@contextmanager
def open_store(settings: Settings) -> Iterator[Store]:
    """Open the store, turning an unusable database into a CliError with the fix."""
    try:
        store = Store.open(settings.database, settings.receiver.busy_timeout_ms)
    except (OSError, sqlite3.Error) as exc:
        raise fail(settings.language, "store_unavailable", path=settings.database, detail=exc) from exc
    try:
        yield store
    finally:
        store.close()


def run_recorded(settings: Settings, job: Job, work: Callable[[], Any], clock: Callable[[], int], target: str = "") -> Any:
    """Run `work` as a recorded run of `job`, so `status` shows command-line runs too.

    A database, file or value error becomes a CliError that names the job and the cause.
    """
    conn = connect(settings.database)
    try:
        return record_run(conn, job, work, clock, target=target, holder=f"cli:{os.getpid()}")
    except (sqlite3.Error, OSError, ValueError) as exc:
        raise fail(settings.language, "job_failed", job=job.value, detail=exc) from exc
    finally:
        conn.close()


def parse_date(language: Language, value: str | None) -> dt.date | None:
    """Parse YYYY-MM-DD, or raise a ClickException in `language`."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise fail(language, "date_invalid", value=value) from None


def parse_month(language: Language, value: str) -> str:
    """Check YYYY-MM, or raise a ClickException in `language`."""
    if not _MONTH.fullmatch(value.strip()):
        raise fail(language, "month_invalid", value=value)
    return value.strip()


def resolve_out(settings: Settings, out: Path | None) -> Path | None:
    """Return where `export excel --out` writes.

    A relative path goes under the export folder and may not climb out of it with
    `..`. An absolute path is taken as given, because the user named it on purpose.
    """
    if out is None or out.is_absolute():
        return out
    directory = settings.export.directory.resolve()
    target = (directory / out).resolve()
    if not target.is_relative_to(directory):
        raise fail(settings.language, "out_escapes", value=out, directory=directory)
    return target


def _format_instant(instant_ms: int | None, settings: Settings) -> str:
    if instant_ms is None:
        return message("never", settings.language)
    local = pendulum.from_timestamp(instant_ms / 1000, tz=settings.policy.timezone)
    return local.format("DD/MM/YYYY HH:mm:ss")


def _format_run(run: JobRun | None, settings: Settings) -> str:
    if run is None:
        return message("never", settings.language)
    target = f", {run.target}" if run.target else ""
    return message("status_run", settings.language, moment=_format_instant(run.started_at_ms, settings), outcome=run.outcome, target=target)


# --- Commands -------------------------------------------------------------------------


@cli.command()
@pass_cli
def serve(context: CliContext) -> None:
    """Run the webhook receiver and the scheduled rollup and exports."""
    from jobs.serve import run_service

    settings = context.settings()
    language = settings.language
    logging.basicConfig(level=settings.server.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    listener = bind_listener(settings)
    if not settings.receiver.api_keys:
        _console().print(Panel(message("no_api_key", language), style="bold red"), markup=False)

    def announce(server: object) -> None:
        say(language, "serve_listening", host=settings.server.host, port=settings.server.port, database=settings.database)
        say(language, "serve_schedule", minutes=settings.schedule.rollup_every_minutes, export_at=settings.schedule.export_at)

    run_service(settings, sockets=[listener], on_started=announce)


def bind_listener(settings: Settings) -> socket.socket:
    """Bind serve's socket to `server.host:server.port`, or raise a CliError naming the port.

    Binding here, rather than inside uvicorn, turns a port in use into a message that
    names `[server] port` and how to find the other process, before anything is
    announced. uvicorn listens on the returned socket.
    """
    host, port = settings.server.host, settings.server.port
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        listener = socket.socket(family, kind, proto)
    except OSError as exc:
        raise fail(settings.language, "job_failed", job="serve", detail=exc) from exc
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
    except OSError as exc:
        listener.close()
        raise fail(settings.language, "port_in_use", host=host, port=port, detail=exc.strerror or exc, config=settings.config_path) from exc
    return listener


@cli.command()
@click.option("--from", "date_from", metavar="YYYY-MM-DD", help="First local date to recompute, inclusive.")
@click.option("--to", "date_to", metavar="YYYY-MM-DD", help="Last local date to recompute, inclusive.")
@pass_cli
def rollup(context: CliContext, date_from: str | None, date_to: str | None) -> None:
    """Recompute daily attendance: what changed, plus every date from --from to --to."""
    from jobs.rollup import run_rollup

    settings = context.settings()
    first = parse_date(settings.language, date_from)
    last = parse_date(settings.language, date_to)
    if (first is None) != (last is None):
        raise fail(settings.language, "range_half")
    if first is not None and last is not None and first > last:
        raise fail(settings.language, "range_reversed", date_from=first, date_to=last)

    with open_store(settings) as store:
        result = run_recorded(settings, Job.ROLLUP, lambda: run_rollup(store, settings, context.clock(), first, last), context.clock)
    months = ", ".join(sorted(result.months_changed)) or message("none", settings.language)
    say(settings.language, "rollup_done", dates=result.dates_recomputed, employees=result.employees, months=months)


@cli.group()
def export() -> None:
    """Write a month's timesheet to Excel or Google Sheets."""


@export.command("excel")
@click.option("--month", required=True, metavar="YYYY-MM", help="The month to export, e.g. 2026-11.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Workbook path; a relative path is inside the export folder (default timesheet-YYYY-MM.xlsx there).",
)
@pass_cli
def export_excel_command(context: CliContext, month: str, out: Path | None) -> None:
    """Roll up what is pending, then write the month's workbook."""
    from jobs.export import export_excel

    settings = context.settings()
    month = parse_month(settings.language, month)
    target = resolve_out(settings, out)

    with open_store(settings) as store:
        path = run_recorded(settings, Job.EXPORT_EXCEL, lambda: export_excel(store, settings, month, target, context.clock()), context.clock, month)
        has_checkins = month_has_checkins(store, settings, month)
    if not has_checkins:
        say(settings.language, "month_without_checkins", month=month)
    say(settings.language, "excel_written", month=month, path=path)


def month_has_checkins(store: Store, settings: Settings, month: str) -> bool:
    """Return whether any CHECKIN falls in `month`, local to the attendance time zone.

    An empty month still gets its workbook, because an empty timesheet is valid (a
    month before the firm started, or a nightly export on the 1st). The warning only
    catches a mistyped --month.
    """
    year, number = (int(part) for part in month.split("-"))
    start = pendulum.datetime(year, number, 1, tz=settings.policy.timezone)
    first_ms = int(start.timestamp() * 1000)
    end_ms = int(start.add(months=1).timestamp() * 1000)
    return next(iter(store.checkins_between(first_ms, end_ms, "CHECKIN")), None) is not None


@export.command("sheets")
@click.option("--month", required=True, metavar="YYYY-MM", help="The month to export, e.g. 2026-11.")
@pass_cli
def export_sheets_command(context: CliContext, month: str) -> None:
    """Roll up what is pending, then rewrite the month's tabs in the Google spreadsheet."""
    from exporters.sheets import SheetsError
    from jobs.tasks import export_sheets

    settings = context.settings()
    month = parse_month(settings.language, month)
    if not settings.sheets.configured:
        raise fail(settings.language, "sheets_not_configured", config=settings.config_path)

    with open_store(settings) as store:
        try:
            result = run_recorded(settings, Job.EXPORT_SHEETS, lambda: export_sheets(store, settings, month, context.clock()), context.clock, month)
        except SheetsError as exc:
            detail = getattr(exc, "message_vi", None) if settings.language == "vi" else None
            raise fail(settings.language, "job_failed", job="export sheets", detail=detail or exc) from exc
    say(settings.language, "sheets_written", tabs=len(result.tabs), month=month, calls=result.api_calls, url=result.url)


@cli.command()
@pass_cli
def replay(context: CliContext) -> None:
    """Re-process quarantined deliveries, once the cause of their rejection is fixed."""
    from ingest.replay import replay_quarantine

    settings = context.settings()
    with open_store(settings) as store:
        result = replay_quarantine(store, settings.receiver, context.clock)
    say(settings.language, "replay_done", accepted=result.accepted, failing=result.still_failing)
    for failure in result.failures:
        reason = failure.reason if settings.language == "vi" else failure.reason_en
        say(settings.language, "replay_failure", id=failure.quarantine_id, reason=reason)


@cli.command()
@pass_cli
def status(context: CliContext) -> None:
    """Show deliveries today, the last delivery, quarantine, last runs and conflicts."""
    settings = context.settings()
    language = settings.language
    if not settings.database.exists():
        say(language, "status_no_database", path=settings.database)
        return
    with open_store(settings) as store:
        conn = connect(settings.database)
        try:
            report = collect_status(store, conn, settings.policy.timezone, context.clock())
        finally:
            conn.close()

    table = RichTable(title=message("status_title", language), show_header=False)
    table.add_row(message("status_deliveries_today", language), str(report.deliveries_today))
    table.add_row(message("status_last_delivery", language), _format_instant(report.last_delivery_ms, settings))
    table.add_row(message("status_quarantine", language), str(report.quarantine_size))
    table.add_row(message("status_last_rollup", language), _format_run(report.last_rollup, settings))
    table.add_row(message("status_last_export", language), _format_run(report.last_export, settings))
    table.add_row(message("status_conflicts", language, month=report.month), str(report.conflicts))
    _console().print(table)
    if report.conflict_days:
        _console().print(_conflict_table(report, language))


def _conflict_table(report: StatusReport, language: Language) -> RichTable:
    table = RichTable(title=message("status_conflicts", language, month=report.month))
    for key in ("conflict_user", "conflict_date", "conflict_groups"):
        table.add_column(message(key, language))
    for day in report.conflict_days:
        table.add_row(day.user_id, dt.date.fromisoformat(day.date).strftime("%d/%m/%Y"), day.conflict)
    return table


DOCTOR_MARKS = {Level.OK: "[green]✓[/green]", Level.WARNING: "[yellow]![/yellow]", Level.FAILED: "[red]✗[/red]"}


@cli.command()
@pass_cli
def doctor(context: CliContext) -> None:
    """Check the set-up and print what to fix: config, database, keys, Google Sheets."""
    from jobs.doctor import run_doctor

    settings = context.settings(keys_file_optional=True)
    language = settings.language
    findings = run_doctor(settings, os.environ)

    console = _console()
    console.print(message("doctor_title", language), style="bold", markup=False)
    for finding in findings:
        console.print(DOCTOR_MARKS[finding.level], end=" ")
        console.print(finding.message(language), markup=False)
    failed = sum(finding.level is Level.FAILED for finding in findings)
    warnings = sum(finding.level is Level.WARNING for finding in findings)
    if failed:
        raise fail(language, "doctor_failed", count=failed)
    if warnings:
        say(language, "doctor_warnings", count=warnings)
        return
    say(language, "doctor_all_ok")


@cli.command()
@click.argument("target", type=click.Path(path_type=Path, dir_okay=False))
@pass_cli
def backup(context: CliContext, target: Path) -> None:
    """Copy the database to TARGET, consistently, even while serve is running."""
    from jobs.maintenance import MaintenanceError
    from jobs.maintenance import backup as backup_database

    settings = context.settings()
    try:
        result = backup_database(settings.database, target, settings.receiver.busy_timeout_ms)
    except MaintenanceError as exc:
        raise fail(settings.language, "job_failed", job="backup", detail=exc) from exc
    say(settings.language, "backup_written", path=result.path, size=result.size_bytes)


@cli.command()
@click.argument("backup_file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--yes", is_flag=True, help="Replace the database without asking first.")
@pass_cli
def restore(context: CliContext, backup_file: Path, yes: bool) -> None:
    """Replace the database with BACKUP_FILE; stop serve first."""
    from jobs.maintenance import MaintenanceError
    from jobs.maintenance import restore as restore_database

    settings = context.settings()
    language = settings.language
    if _receiver_answers(settings):
        raise fail(language, "restore_while_serving", host=settings.server.host, port=settings.server.port)
    if not yes:
        click.confirm(message("restore_confirm", language, database=settings.database, backup=backup_file), abort=True)
    try:
        restore_database(backup_file, settings.database)
    except MaintenanceError as exc:
        raise fail(language, "job_failed", job="restore", detail=exc) from exc
    say(language, "restored", database=settings.database, backup=backup_file)


def _receiver_answers(settings: Settings) -> bool:
    """Return whether something accepts connections on serve's port (a running serve)."""
    host = settings.server.host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    try:
        with socket.create_connection((host, settings.server.port), timeout=0.5):
            return True
    except OSError:
        return False


@cli.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("data/demo"),
    show_default=True,
    help="Folder of the demo's own config, database and workbook.",
)
@click.option(
    "--language",
    type=click.Choice(["vi", "en"]),
    default=None,
    help="Language of the workbook and messages; default: the config's export.language, else vi.",
)
@click.pass_context
def demo(ctx: click.Context, directory: Path, language: Language | None) -> None:
    """Post a month of made-up check-ins over HTTP, roll up and write the workbook."""
    from jobs.demo import DemoFolderInUse, run_demo

    language = language or help_language(ctx)
    try:
        result = run_demo(directory, language, progress=lambda key, **values: say(language, key, **values))
    except DemoFolderInUse as exc:
        raise fail(language, "demo_refused", path=exc.path) from exc
    say(language, "demo_done", path=result.workbook, database=result.database)


def main() -> None:
    """Run the `acheckin-sync` command (the console script's entry point)."""
    cli(prog_name="acheckin-sync")
