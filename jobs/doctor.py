"""The checks of `acheckin-sync doctor`: each finding names the problem and the fix.

Doctor only reads: it creates neither the database nor any folder. Where the
database or export folder does not exist yet, it says where it will be created and
whether the nearest existing folder is writable.
"""

from __future__ import annotations

import dataclasses
import enum
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from exporters.tables import Language
from jobs.i18n import message
from jobs.policy import Shift
from jobs.settings import Settings

LONG_SHIFT_MINUTES = 16 * 60
"""A shift longer than this is reported as a likely typo (an end of "07:00" meant as "17:00")."""


class Level(enum.Enum):
    """The outcome of a check. A failure makes doctor exit with 1, and a warning does not."""

    OK = "ok"
    WARNING = "warning"
    FAILED = "failed"


@dataclasses.dataclass(frozen=True)
class Finding:
    """One check's result, with its message in Vietnamese and English."""

    ok: bool
    message_vi: str
    message_en: str
    warning: bool = False
    """An unusual but valid set-up, worth a look; only meaningful when `ok` is true."""

    @property
    def level(self) -> Level:
        """Return whether the check passed, warned or failed."""
        if not self.ok:
            return Level.FAILED
        return Level.WARNING if self.warning else Level.OK

    def message(self, language: Language) -> str:
        """Return the message in `language`."""
        return self.message_vi if language == "vi" else self.message_en


SheetsCheck = Callable[[Settings, Mapping[str, str]], list[Finding]]


def run_doctor(settings: Settings, environ: Mapping[str, str] = os.environ, sheets_check: SheetsCheck | None = None) -> list[Finding]:
    """Check the database, the export folder, the API keys, the shifts and, if configured, Sheets.

    The configuration itself was valid, or `load_settings` would have raised, except
    for an unreadable `ingest.api_keys_file` when loaded with `keys_file_optional`.
    `sheets_check` replaces the Google check (tests pass one that talks to a fake).
    """
    findings = [_finding("doctor_config_ok", True, path=settings.config_path)]
    findings.append(_check_database(settings))
    findings.append(_check_export_folder(settings))
    findings.extend(_check_keys(settings))
    findings.extend(_check_shift_lengths(_assigned_shifts(settings)))
    findings.extend((sheets_check or check_sheets)(settings, environ))
    return findings


def check_sheets(settings: Settings, environ: Mapping[str, str]) -> list[Finding]:
    """Check the Google credentials, the spreadsheet and its sharing, when Sheets is on."""
    if not settings.sheets.configured:
        return [_finding("doctor_sheets_off", True)]

    from exporters import sheets

    report = sheets.check_sheets_setup(
        settings.sheets.spreadsheet,
        settings.sheets.credentials_file,
        environ=environ,
        session_factory=sheets.authorized_session,
    )
    return [Finding(check.ok, check.message("vi"), check.message("en")) for check in report.checks]


def _check_database(settings: Settings) -> Finding:
    """Open an existing database read-write and take its write lock; never create one."""
    path = settings.database
    if not path.exists():
        return _check_creatable("doctor_database_missing", "doctor_database_unwritable", path)
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=settings.receiver.busy_timeout_ms / 1000)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
        finally:
            conn.close()
    except (OSError, sqlite3.Error) as exc:
        return _finding("doctor_database_failed", False, path=path, detail=exc)
    return _finding("doctor_database_ok", True, path=path)


def _check_export_folder(settings: Settings) -> Finding:
    path = settings.export.directory
    if not path.exists():
        return _check_creatable("doctor_export_missing", "doctor_export_failed", path)
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".doctor-", delete=True):
            pass
    except OSError as exc:
        return _finding("doctor_export_failed", False, path=path, detail=exc)
    return _finding("doctor_export_ok", True, path=path)


def _check_creatable(ok_key: str, failed_key: str, path: Path) -> Finding:
    """Report whether `path`, which does not exist, can be created under its nearest existing folder."""
    folder = _nearest_existing(path.parent)
    if folder.is_dir() and os.access(folder, os.W_OK | os.X_OK):
        return _finding(ok_key, True, path=path, folder=folder)
    detail = message("doctor_not_a_writable_folder", "en", folder=folder)
    return Finding(
        False,
        message(failed_key, "vi", path=path, folder=folder, detail=message("doctor_not_a_writable_folder", "vi", folder=folder)),
        message(failed_key, "en", path=path, folder=folder, detail=detail),
    )


def _nearest_existing(path: Path) -> Path:
    """Return `path` or its nearest ancestor that exists (a folder, or a file in the way)."""
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _check_keys(settings: Settings) -> list[Finding]:
    findings = []
    error = settings.keys_file_error
    if error is not None:
        findings.append(
            Finding(
                False,
                message("doctor_keys_file_failed", "vi", detail=error.describe("vi")),
                message("doctor_keys_file_failed", "en", detail=error.describe("en")),
            )
        )
    count = len(settings.receiver.api_keys)
    if count == 0:
        findings.append(_finding("doctor_keys_missing", False))
    else:
        findings.append(_finding("doctor_keys_ok", True, count=count))
    return findings


def _assigned_shifts(settings: Settings) -> list[Shift]:
    """Return the shifts anyone works: the default and every assigned one, each once by name."""
    policy = settings.policy
    shifts = [policy.default_shift, *policy.user_shifts.values(), *policy.office_shifts.values()]
    return list({shift.name: shift for shift in shifts}.values())


def _check_shift_lengths(shifts: Iterable[Shift]) -> list[Finding]:
    """Warn about each shift longer than `LONG_SHIFT_MINUTES`: long shifts are legal but usually a typo."""
    findings = []
    for shift in shifts:
        if shift.length_minutes <= LONG_SHIFT_MINUTES:
            continue
        hours = f"{shift.length_minutes / 60:g}"
        findings.append(
            dataclasses.replace(
                _finding("doctor_long_shift", True, name=shift.name, hours=hours, begin=_clock(shift.begin), end=_clock(shift.end)),
                warning=True,
            )
        )
    return findings


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _finding(key: str, ok: bool, **values: object) -> Finding:
    return Finding(ok, message(key, "vi", **values), message(key, "en", **values))
