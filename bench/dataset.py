"""A year of made-up check-ins for the rollup and export benchmarks.

The rows are bulk-inserted into the receiver's own schema (`Store.open` creates it,
then one `executemany` per table). They do not go through `Store.write_batch`,
because that would take many minutes for a million check-ins, and the receiver
benchmarks measure the write path on their own. Only the incremental day goes
through `write_batch`.

Each employee works the default shift 08:00–17:00 Monday to Saturday, or (one in
ten) 13:00–22:00 announced by ACheckin's `working_group`; is absent 4 % of work
days; scans in 20 min early to 15 min late, double-scans 10 % of the time, goes out
and back at lunch 75 % of the time, scans out 0–90 min after the end and forgets
to 5 % of the time; works 3 % of Sundays; joins one event a month (JOIN_EVENT).
That is about 3.5 check-ins per work day, about a million for 1,000 employees and
350 days.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from ingest.store import Store

ZONE = dt.timezone(dt.timedelta(hours=7))
"""Asia/Ho_Chi_Minh, which has had no DST since 1975."""

FIRST_DAY = dt.date(2025, 1, 1)
WORKSPACE = "ws-bench"
OFFICES = ("Hà Nội", "Thành phố Hồ Chí Minh", "Đà Nẵng")
FAMILY_NAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng")
GIVEN_NAMES = ("Văn An", "Thị Lan", "Minh Đức", "Thu Hà", "Quốc Bảo", "Ngọc Ánh", "Hữu Phước", "Thanh Tâm")

CHECKIN_COLUMNS = (
    "workspace_id", "user_id", "checkin_timestamp", "checkin_time", "webhook_type", "name", "sex",
    "phone_number", "email", "company_id", "office_location", "machine_id", "avatar",
    "working_group_begin", "working_group_end", "extra", "received_at_ms",
)


@dataclasses.dataclass(frozen=True)
class Employee:
    """One made-up employee; `afternoon` ones work 13:00–22:00."""

    user_id: str
    name: str
    sex: str
    office: str
    afternoon: bool

    @property
    def shift(self) -> tuple[int, int]:
        return (13 * 60, 22 * 60) if self.afternoon else (8 * 60, 17 * 60)


@dataclasses.dataclass(frozen=True)
class Dataset:
    """The output of `generate`: the dates covered (`first_day` .. `last_day`) and the row count."""

    employees: int
    first_day: dt.date
    last_day: dt.date
    checkins: int

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


def make_employees(count: int) -> list[Employee]:
    """Return `count` employees, the same ones for the same count."""
    return [
        Employee(
            user_id=f"NV{number:04d}",
            name=f"{FAMILY_NAMES[number % len(FAMILY_NAMES)]} {GIVEN_NAMES[number % len(GIVEN_NAMES)]}",
            sex="MALE" if number % 2 else "FEMALE",
            office=OFFICES[number % len(OFFICES)],
            afternoon=number % 10 == 9,
        )
        for number in range(count)
    ]


def generate(path: Path, employees: int, days: int, seed: int = 2025) -> Dataset:
    """Create the store at `path` and bulk-insert `days` days of check-ins from FIRST_DAY."""
    store = Store.open(path)
    store.close()
    people = make_employees(employees)
    rng = random.Random(seed)
    last_day = FIRST_DAY + dt.timedelta(days=days - 1)

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    placeholders = ", ".join("?" for _ in CHECKIN_COLUMNS)
    count = 0
    batch: list[tuple] = []
    for row in _checkin_rows(people, days, rng):
        batch.append(row)
        if len(batch) == 50_000:
            conn.executemany(f"INSERT INTO checkins ({', '.join(CHECKIN_COLUMNS)}) VALUES ({placeholders})", batch)
            count += len(batch)
            batch.clear()
    conn.executemany(f"INSERT INTO checkins ({', '.join(CHECKIN_COLUMNS)}) VALUES ({placeholders})", batch)
    count += len(batch)
    _insert_employees(conn, people, FIRST_DAY, last_day)
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return Dataset(employees=employees, first_day=FIRST_DAY, last_day=last_day, checkins=count)


def day_bodies(people: list[Employee], day: dt.date, seed: int = 7) -> Iterator[bytes]:
    """Yield one day's deliveries as JSON bodies: an in and an out per employee."""
    rng = random.Random(seed)
    for employee in people:
        begin, end = employee.shift
        for minute in (begin - rng.randint(0, 20), end + rng.randint(0, 60)):
            yield json.dumps(_document(employee, _instant_ms(day, minute, rng), with_group=minute < begin),
                             ensure_ascii=False).encode("utf-8")


def local_ms(day: dt.date, minute: int) -> int:
    """Return the Unix ms of `minute` after local midnight of `day`."""
    midnight = dt.datetime(day.year, day.month, day.day, tzinfo=ZONE)
    return int(midnight.timestamp() * 1000) + minute * 60_000


def _checkin_rows(people: list[Employee], days: int, rng: random.Random) -> Iterator[tuple]:
    for offset in range(days):
        day = FIRST_DAY + dt.timedelta(days=offset)
        for employee in people:
            for instant_ms, webhook_type, group in _day_checkins(employee, day, rng):
                yield _row(employee, instant_ms, webhook_type, group)


def _day_checkins(employee: Employee, day: dt.date, rng: random.Random) -> list[tuple[int, str, bool]]:
    """Return (instant ms, webhook type, carries working_group) of one employee's day."""
    checkins: list[tuple[int, str, bool]] = []
    if day.day == 15 and rng.random() < 0.9:
        checkins.append((_instant_ms(day, 10 * 60 + rng.randint(0, 120), rng), "JOIN_EVENT", False))
    works = rng.random() < 0.03 if day.isoweekday() == 7 else rng.random() >= 0.04
    if not works:
        return checkins

    begin, end = employee.shift
    arrive = begin - 20 + rng.randint(0, 35)
    first_in = _instant_ms(day, arrive, rng)
    checkins.append((first_in, "CHECKIN", employee.afternoon))
    if rng.random() < 0.10:
        checkins.append((first_in + rng.randint(5_000, 120_000), "CHECKIN", False))
    if not employee.afternoon and rng.random() < 0.75:
        checkins.append((_instant_ms(day, 12 * 60 + rng.randint(0, 5), rng), "CHECKIN", False))
        checkins.append((_instant_ms(day, 12 * 60 + 55 + rng.randint(0, 10), rng), "CHECKIN", False))
    if rng.random() >= 0.05:
        checkins.append((_instant_ms(day, end + rng.randint(0, 90), rng), "CHECKIN", False))
    return checkins


def _instant_ms(day: dt.date, minute: int, rng: random.Random) -> int:
    return local_ms(day, minute) + rng.randint(0, 59_999)


def _row(employee: Employee, instant_ms: int, webhook_type: str, group: bool) -> tuple:
    document = _document(employee, instant_ms, with_group=group)
    begin, end = employee.shift
    return (
        WORKSPACE, employee.user_id, instant_ms,
        dt.datetime.fromtimestamp(instant_ms / 1000, tz=dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        webhook_type, employee.name, employee.sex, document["phone_number"], document["email"], "cmp-1",
        employee.office, document["machine_id"], document["avatar"],
        f"{begin // 60:02d}:{begin % 60:02d}" if group else None,
        f"{end // 60:02d}:{end % 60:02d}" if group else None,
        "{}", instant_ms + 1500,
    )


def _document(employee: Employee, instant_ms: int, with_group: bool) -> dict:
    number = int(employee.user_id[2:])
    document = {
        "user_id": employee.user_id,
        "workspace_id": WORKSPACE,
        "name": employee.name,
        "sex": employee.sex,
        "phone_number": f"09{number:08d}",
        "email": f"{employee.user_id.lower()}@example.vn",
        "company_id": "cmp-1",
        "office_location": employee.office,
        "machine_id": f"m-{number % 7:02d}",
        "avatar": f"https://example.vn/avatars/{employee.user_id}.png",
        "checkin_timestamp": instant_ms,
    }
    if with_group:
        begin, end = employee.shift
        document["working_group"] = {"begin": begin // 60 * 100 + begin % 60, "end": end // 60 * 100 + end % 60}
    return document


def _insert_employees(conn: sqlite3.Connection, people: list[Employee], first_day: dt.date, last_day: dt.date) -> None:
    conn.executemany(
        "INSERT INTO employees (workspace_id, user_id, name, sex, email, phone_number, office_location, company_id,"
        " avatar, first_checkin_ms, last_checkin_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (WORKSPACE, person.user_id, person.name, person.sex, f"{person.user_id.lower()}@example.vn",
             f"09{int(person.user_id[2:]):08d}", person.office, "cmp-1",
             f"https://example.vn/avatars/{person.user_id}.png", local_ms(first_day, 0), local_ms(last_day, 1439))
            for person in people
        ],
    )
