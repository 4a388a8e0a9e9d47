"""The checks of `acheckin-sync doctor`: each finding names the problem and the fix."""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import tempfile
from collections.abc import Callable, Mapping

from exporters.tables import Language
from ingest.store import Store
from jobs.i18n import message
from jobs.settings import Settings


@dataclasses.dataclass(frozen=True)
class Finding:
    """One check's result, with its message in Vietnamese and English."""

    ok: bool
    message_vi: str
    message_en: str

    def message(self, language: Language) -> str:
        """Return the message in `language`."""
        return self.message_vi if language == "vi" else self.message_en


SheetsCheck = Callable[[Settings, Mapping[str, str]], list[Finding]]


def run_doctor(settings: Settings, environ: Mapping[str, str] = os.environ, sheets_check: SheetsCheck | None = None) -> list[Finding]:
    """Check the database, the export folder, the API keys and, if configured, Sheets.

    The configuration itself was valid, or `load_settings` would have raised.
    `sheets_check` replaces the Google check (tests pass one that talks to a fake).
    """
    findings = [_finding("doctor_config_ok", True, path=settings.config_path)]
    findings.append(_check_database(settings))
    findings.append(_check_export_folder(settings))
    findings.append(_check_keys(settings))
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
    return [Finding(check.ok, check.message_vi, check.message_en) for check in report.checks]


def _check_database(settings: Settings) -> Finding:
    path = settings.database
    try:
        store = Store.open(path, settings.receiver.busy_timeout_ms)
        try:
            conn = store.connect()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            conn.close()
        finally:
            store.close()
    except (OSError, sqlite3.Error) as exc:
        return _finding("doctor_database_failed", False, path=path, detail=exc)
    return _finding("doctor_database_ok", True, path=path)


def _check_export_folder(settings: Settings) -> Finding:
    path = settings.export.directory
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".doctor-", delete=True):
            pass
    except OSError as exc:
        return _finding("doctor_export_failed", False, path=path, detail=exc)
    return _finding("doctor_export_ok", True, path=path)


def _check_keys(settings: Settings) -> Finding:
    count = len(settings.receiver.api_keys)
    if count == 0:
        return _finding("doctor_keys_missing", False)
    return _finding("doctor_keys_ok", True, count=count)


def _finding(key: str, ok: bool, **values: object) -> Finding:
    return Finding(ok, message(key, "vi", **values), message(key, "en", **values))
