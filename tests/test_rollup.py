"""The rollup: which dates it recomputes, and that recomputing never changes a result."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlite_utils

from conftest import LiveServer, local_ms, make_delivery
from jobs.rollup import run_rollup
from jobs.settings import Settings, load_settings

REPO = Path(__file__).resolve().parent.parent
KEY = "rollup-key"
AFTER_NOVEMBER_MS = local_ms(2026, 12, 5, 9, 0)

DAY_SCANS = [
    ("NV001", (2026, 11, 2, 7, 55)),
    ("NV001", (2026, 11, 2, 17, 10)),
    ("NV001", (2026, 11, 3, 8, 20)),
    ("NV001", (2026, 11, 3, 17, 5)),
    ("NV002", (2026, 11, 2, 21, 55), {"working_group": {"begin": 2200, "end": 600}}),
    ("NV002", (2026, 11, 3, 6, 5)),
]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    config = tmp_path / "config.toml"
    config.write_text((REPO / "config.toml").read_text(encoding="utf-8"), encoding="utf-8")
    loaded = load_settings(config, environ={})
    loaded.database.parent.mkdir(parents=True, exist_ok=True)
    return loaded


def edited_settings(tmp_path: Path, shipped_text: str, replacement: str) -> Settings:
    """Load the shipped config with `shipped_text` replaced, its data folder created."""
    config = tmp_path / "config.toml"
    shipped = (REPO / "config.toml").read_text(encoding="utf-8")
    assert shipped_text in shipped
    config.write_text(shipped.replace(shipped_text, replacement, 1), encoding="utf-8")
    loaded = load_settings(config, environ={})
    loaded.database.parent.mkdir(parents=True, exist_ok=True)
    return loaded


def post(server: LiveServer, scans: list[tuple]) -> None:
    for user_id, moment, *extra in scans:
        body = make_delivery(user_id=user_id, checkin_timestamp=local_ms(*moment), **(extra[0] if extra else {}))
        response = server.post_delivery(body)
        assert response.status_code == 200, response.text


def attendance(database: Path) -> dict[tuple[str, str], dict]:
    """Return every daily_attendance row by (user_id, date), without computed_at_ms."""
    rows = sqlite_utils.Database(database)["daily_attendance"].rows
    return {(r["user_id"], r["date"]): {k: v for k, v in r.items() if k != "computed_at_ms"} for r in rows}


def test_rollup_writes_every_date_of_the_month(start_server: Callable[..., LiveServer], settings: Settings) -> None:
    server = start_server(api_keys=(KEY,), clock=lambda: AFTER_NOVEMBER_MS, database=settings.database)
    post(server, DAY_SCANS)

    result = run_rollup(server.store, settings, AFTER_NOVEMBER_MS)

    rows = attendance(settings.database)
    assert result.months_changed == {"2026-11"}
    assert sum(1 for user, _ in rows if user == "NV001") == 30
    assert rows[("NV001", "2026-11-01")]["status"] == "day_off"
    assert rows[("NV001", "2026-11-24")]["kind"] == "holiday"
    assert rows[("NV001", "2026-11-03")]["late_minutes"] == 20
    assert rows[("NV002", "2026-11-02")]["shift_source"] == "working_group"
    assert rows[("NV002", "2026-11-02")]["last_out"] == "2026-11-03T06:05:00+07:00"


def test_rollup_twice_gives_same_rows(start_server: Callable[..., LiveServer], settings: Settings) -> None:
    server = start_server(api_keys=(KEY,), clock=lambda: AFTER_NOVEMBER_MS, database=settings.database)
    post(server, DAY_SCANS)
    run_rollup(server.store, settings, AFTER_NOVEMBER_MS)
    first = attendance(settings.database)

    again = run_rollup(server.store, settings, AFTER_NOVEMBER_MS)
    forced = run_rollup(server.store, settings, AFTER_NOVEMBER_MS, dt.date(2026, 11, 1), dt.date(2026, 11, 30))

    assert again.dates_recomputed == 0
    assert forced.dates_recomputed == 60
    assert forced.months_changed == frozenset()
    assert attendance(settings.database) == first


def test_rollup_ignores_arrival_order(start_server: Callable[..., LiveServer], tmp_path: Path) -> None:
    results = []
    for order in (DAY_SCANS, list(reversed(DAY_SCANS))):
        folder = tmp_path / f"order-{len(results)}"
        folder.mkdir()
        config = folder / "config.toml"
        config.write_text((REPO / "config.toml").read_text(encoding="utf-8"), encoding="utf-8")
        settings = load_settings(config, environ={})
        settings.database.parent.mkdir(parents=True)
        server = start_server(api_keys=(KEY,), clock=lambda: AFTER_NOVEMBER_MS, database=settings.database)
        post(server, order[:3])
        run_rollup(server.store, settings, AFTER_NOVEMBER_MS)
        post(server, order[3:])
        run_rollup(server.store, settings, AFTER_NOVEMBER_MS)
        results.append(attendance(settings.database))

    assert results[0] == results[1]


def test_late_checkout_updates_its_date(start_server: Callable[..., LiveServer], settings: Settings) -> None:
    server = start_server(api_keys=(KEY,), clock=lambda: AFTER_NOVEMBER_MS, database=settings.database)
    post(server, [("NV001", (2026, 11, 2, 7, 55))])
    run_rollup(server.store, settings, AFTER_NOVEMBER_MS)
    assert attendance(settings.database)[("NV001", "2026-11-02")]["status"] == "missing_checkout"

    post(server, [("NV001", (2026, 11, 2, 17, 10))])
    result = run_rollup(server.store, settings, AFTER_NOVEMBER_MS)

    row = attendance(settings.database)[("NV001", "2026-11-02")]
    assert row["status"] == "present"
    assert row["workday"] == 1.0
    assert result.months_changed == {"2026-11"}
    # 2/11 - 3 .. 2/11 + 3, less 30 and 31 October: no check-in of his belongs to October.
    assert result.dates_recomputed == 5


def test_open_date_closes_at_a_later_rollup(start_server: Callable[..., LiveServer], settings: Settings) -> None:
    during_shift = local_ms(2026, 11, 2, 10, 0)
    server = start_server(api_keys=(KEY,), clock=lambda: during_shift, database=settings.database)
    post(server, [("NV001", (2026, 11, 2, 7, 55))])

    run_rollup(server.store, settings, during_shift)
    assert attendance(settings.database)[("NV001", "2026-11-02")]["status"] == "open"

    run_rollup(server.store, settings, local_ms(2026, 11, 3, 0, 0))
    assert attendance(settings.database)[("NV001", "2026-11-02")]["status"] == "missing_checkout"
    assert attendance(settings.database)[("NV001", "2026-11-30")]["status"] == "open"


def test_changed_policy_recomputes_everything(start_server: Callable[..., LiveServer], settings: Settings) -> None:
    server = start_server(api_keys=(KEY,), clock=lambda: AFTER_NOVEMBER_MS, database=settings.database)
    post(server, DAY_SCANS)
    run_rollup(server.store, settings, AFTER_NOVEMBER_MS)
    assert attendance(settings.database)[("NV001", "2026-11-03")]["late_minutes"] == 20

    lenient = dataclasses.replace(settings, policy=dataclasses.replace(settings.policy, late_grace_minutes=30))
    result = run_rollup(server.store, lenient, AFTER_NOVEMBER_MS)

    assert result.full
    assert attendance(settings.database)[("NV001", "2026-11-03")]["late_minutes"] == 0


def test_checkin_in_new_month_adds_that_month(start_server: Callable[..., LiveServer], settings: Settings) -> None:
    server = start_server(api_keys=(KEY,), clock=lambda: AFTER_NOVEMBER_MS, database=settings.database)
    post(server, DAY_SCANS)
    run_rollup(server.store, settings, AFTER_NOVEMBER_MS)

    post(server, [("NV001", (2026, 12, 1, 7, 55)), ("NV001", (2026, 12, 1, 17, 5))])
    result = run_rollup(server.store, settings, AFTER_NOVEMBER_MS)

    rows = attendance(settings.database)
    assert result.months_changed == {"2026-12"}
    assert sum(1 for user, date in rows if user == "NV001" and date.startswith("2026-12")) == 31
    assert rows[("NV001", "2026-12-01")]["status"] == "present"


def test_event_checkins_never_reach_attendance(start_server: Callable[..., LiveServer], settings: Settings) -> None:
    server = start_server(api_keys=(KEY,), clock=lambda: AFTER_NOVEMBER_MS, database=settings.database)
    body = make_delivery(user_id="NV009", checkin_timestamp=local_ms(2026, 11, 2, 9, 0))
    assert server.post_delivery(body, webhook_type="JOIN_EVENT").status_code == 200

    result = run_rollup(server.store, settings, AFTER_NOVEMBER_MS)

    assert result.dates_recomputed == 0
    assert attendance(settings.database) == {}


def test_range_needs_both_ends(start_server: Callable[..., LiveServer], settings: Settings) -> None:
    server = start_server(api_keys=(KEY,), clock=lambda: AFTER_NOVEMBER_MS, database=settings.database)

    with pytest.raises(ValueError, match="--from and --to"):
        run_rollup(server.store, settings, AFTER_NOVEMBER_MS, date_from=dt.date(2026, 11, 1))
    with pytest.raises(ValueError, match="swap"):
        run_rollup(server.store, settings, AFTER_NOVEMBER_MS, dt.date(2026, 11, 30), dt.date(2026, 11, 1))


def test_user_assigned_shift_reaches_rollup(start_server: Callable[..., LiveServer], tmp_path: Path) -> None:
    settings = edited_settings(tmp_path, "users = {}", 'users = { "NV007" = "night" }')
    server = start_server(api_keys=(KEY,), clock=lambda: AFTER_NOVEMBER_MS, database=settings.database)
    post(server, [("NV007", (2026, 11, 2, 21, 58)), ("NV007", (2026, 11, 3, 6, 2))])

    run_rollup(server.store, settings, AFTER_NOVEMBER_MS)

    row = attendance(settings.database)[("NV007", "2026-11-02")]
    assert row["shift_source"] == "user"
    assert row["shift_begin"] == "2026-11-02T22:00:00+07:00"
    assert row["status"] == "present"
    assert row["workday"] == 1.0


def test_office_from_older_checkin_reaches_rollup(start_server: Callable[..., LiveServer], tmp_path: Path) -> None:
    settings = edited_settings(tmp_path, "offices = {}", 'offices = { "Kho Bình Dương" = "night" }')
    server = start_server(api_keys=(KEY,), clock=lambda: AFTER_NOVEMBER_MS, database=settings.database)
    warehouse = {"office_location": "Kho Bình Dương"}
    unknown = {"office_location": "Không xác định"}
    post(server, [("NV010", (2026, 11, 2, 21, 58), warehouse), ("NV010", (2026, 11, 3, 6, 2), warehouse)])
    run_rollup(server.store, settings, AFTER_NOVEMBER_MS)

    post(server, [("NV010", (2026, 11, 20, 21, 58), unknown), ("NV010", (2026, 11, 21, 6, 2), unknown)])
    run_rollup(server.store, settings, AFTER_NOVEMBER_MS)
    incremental = attendance(settings.database)
    run_rollup(server.store, settings, AFTER_NOVEMBER_MS, dt.date(2026, 11, 1), dt.date(2026, 11, 30))

    row = incremental[("NV010", "2026-11-20")]
    assert row["shift_source"] == "office"
    assert row["shift_begin"] == "2026-11-20T22:00:00+07:00"
    assert row["status"] == "present"
    assert attendance(settings.database) == incremental


def test_late_office_checkin_marks_following_dates(start_server: Callable[..., LiveServer], tmp_path: Path) -> None:
    settings = edited_settings(tmp_path, "offices = {}", 'offices = { "Kho Bình Dương" = "night" }')
    server = start_server(api_keys=(KEY,), clock=lambda: AFTER_NOVEMBER_MS, database=settings.database)
    post(server, [("NV011", (2026, 11, 20, 21, 58), {"office_location": "Không xác định"})])
    run_rollup(server.store, settings, AFTER_NOVEMBER_MS)
    assert attendance(settings.database)[("NV011", "2026-11-12")]["shift_source"] == "default"

    post(server, [("NV011", (2026, 11, 2, 21, 58), {"office_location": "Kho Bình Dương"})])
    run_rollup(server.store, settings, AFTER_NOVEMBER_MS)

    rows = attendance(settings.database)
    assert rows[("NV011", "2026-11-12")]["shift_source"] == "office"
    assert rows[("NV011", "2026-11-20")]["shift_source"] == "office"


def test_checkin_log_uses_office_from_older_checkin(start_server: Callable[..., LiveServer], tmp_path: Path) -> None:
    from jobs.export import Month, build_month_tables

    settings = edited_settings(tmp_path, "offices = {}", 'offices = { "Kho Bình Dương" = "night" }')
    server = start_server(api_keys=(KEY,), clock=lambda: AFTER_NOVEMBER_MS, database=settings.database)
    post(server, [("NV010", (2026, 10, 20, 21, 58), {"office_location": "Kho Bình Dương"})])
    unknown = {"office_location": "Không xác định"}
    post(server, [("NV010", (2026, 11, 20, 21, 58), unknown), ("NV010", (2026, 11, 21, 6, 2), unknown)])

    tables = build_month_tables(server.store, settings, Month(2026, 11, settings.policy.timezone), AFTER_NOVEMBER_MS)

    log = next(table for table in tables if table.key == "checkin_log")
    assert [row["work_date"] for row in log.rows] == [dt.date(2026, 11, 20), dt.date(2026, 11, 20)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_incremental_rollups_equal_full_recompute(start_server: Callable[..., LiveServer], tmp_path: Path, seed: int) -> None:
    import random

    generator = random.Random(seed)
    settings = edited_settings(tmp_path, "offices = {}", 'offices = { "Kho" = "night" }')
    server = start_server(api_keys=(KEY,), clock=lambda: AFTER_NOVEMBER_MS, database=settings.database)
    scans = []
    for _ in range(90):
        day = dt.date(2026, 10, 25) + dt.timedelta(days=generator.randrange(40))
        extra = {"office_location": generator.choice(["Kho", "Hà Nội", "Không xác định"])}
        if generator.random() < 0.2:
            extra["working_group"] = generator.choice([{"begin": 2200, "end": 600}, {"begin": 800, "end": 1700}])
        moment = (day.year, day.month, day.day, generator.randrange(24), generator.randrange(60))
        scans.append((generator.choice(["NV1", "NV2", "NV3"]), moment, extra))

    for start in range(0, len(scans), 15):
        post(server, scans[start : start + 15])
        run_rollup(server.store, settings, AFTER_NOVEMBER_MS)
    incremental = attendance(settings.database)
    run_rollup(server.store, settings, AFTER_NOVEMBER_MS, dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    at_once_database = tmp_path / "data" / "at-once.sqlite3"
    at_once = start_server(api_keys=(KEY,), clock=lambda: AFTER_NOVEMBER_MS, database=at_once_database)
    post(at_once, scans)
    run_rollup(at_once.store, settings, AFTER_NOVEMBER_MS)

    assert attendance(settings.database) == incremental
    assert attendance(at_once_database) == incremental
