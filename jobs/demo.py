"""`acheckin-sync demo`: the whole path on made-up data, in a folder of its own.

The demo writes its own config.toml, API key file and database into the folder,
starts the real receiver on a free port of 127.0.0.1, posts November 2026 for five
employees over HTTP with httpx, rolls up and writes the workbook. The data and the
clock are fixed (seeded jitter, "now" is 2 December 2026 09:00 in Vietnam), so two
runs write the same workbook.

The month contains the cases the rules care about: a late day, a half day, a missing
check-out, an absence, overtime, a double scan, a night-shift worker whose first
check-in carries `working_group {2200, 600}` (the night of 23/11 runs into the
24/11 holiday), work on a Sunday, JOIN_EVENT check-ins, and fields ACheckin sends as
`Không xác định` when the firm did not grant them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pendulum
import uvicorn

from exporters.tables import Language

DEMO_ZONE = "Asia/Ho_Chi_Minh"
DEMO_MONTH = "2026-11"
DEMO_NOW_MS = int(pendulum.datetime(2026, 12, 2, 9, 0, tz=DEMO_ZONE).timestamp() * 1000)
"""The demo's "now": after the window of the last night of November has closed."""
DEMO_KEY = "demo-key-only-for-the-demo"
DEMO_SEED = 2026
WORKSPACE = "ws-demo"
UNKNOWN = "Không xác định"
HOLIDAY = dt.date(2026, 11, 24)
"""Ngày Văn hóa Việt Nam, a statutory holiday from 2026."""

CONFIG_NAME = "config.toml"
KEYS_NAME = "demo-api-keys.txt"
DATABASE_NAME = "demo.sqlite3"
EXPORTS_NAME = "exports"
POST_CONCURRENCY = 16

OWN_NAMES = frozenset({CONFIG_NAME, KEYS_NAME, DATABASE_NAME, f"{DATABASE_NAME}-wal", f"{DATABASE_NAME}-shm", EXPORTS_NAME})

Progress = Callable[..., None]


class DemoFolderInUse(Exception):
    """Raised when the demo folder contains files the demo did not write."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path} holds files that are not the demo's")
        self.path = path


class DemoError(Exception):
    """Raised when the demo's receiver does not accept a delivery."""


@dataclasses.dataclass(frozen=True)
class Employee:
    """One made-up employee and the fields ACheckin would send for them."""

    user_id: str
    name: str
    sex: str
    email: str
    phone_number: str
    office_location: str


@dataclasses.dataclass(frozen=True)
class Delivery:
    """One webhook delivery: its `X-WEBHOOK-TYPE` and JSON body."""

    webhook_type: str
    body: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class DemoResult:
    """The demo's file locations and the number of deliveries it posted."""

    workbook: Path
    database: Path
    config: Path
    deliveries: int
    employees: int


AN = Employee("NV001", "Nguyễn Văn An", "MALE", "an.nguyen@example.vn", "0912345678", "Hà Nội")
BINH = Employee("NV002", "Trần Thị Bình", "FEMALE", "binh.tran@example.vn", "0987654321", "Hà Nội")
CUONG = Employee("NV003", "Lê Hoàng Cường", "MALE", "cuong.le@example.vn", "0901234567", "Kho Bình Dương")
DUNG = Employee("NV004", "Phạm Minh Dũng", "MALE", UNKNOWN, UNKNOWN, UNKNOWN)
HOA = Employee("NV005", "Võ Thị Hoa", "FEMALE", "hoa.vo@example.vn", "+84 912 000 111", "Hà Nội")
EMPLOYEES = (AN, BINH, CUONG, DUNG, HOA)


# --- The made-up month ----------------------------------------------------------------


def demo_deliveries(seed: int = DEMO_SEED) -> list[Delivery]:
    """Return November 2026's deliveries for the five employees, ordered by time."""
    rng = random.Random(seed)
    deliveries: list[Delivery] = []
    for day in _month_days():
        deliveries.extend(_day_staff(AN, day, rng, with_group=True))
        deliveries.extend(_day_staff(BINH, day, rng))
        deliveries.extend(_night_staff(CUONG, day, rng))
        deliveries.extend(_day_staff(DUNG, day, rng))
        deliveries.extend(_day_staff(HOA, day, rng))
    deliveries.extend(_events())
    return sorted(deliveries, key=lambda delivery: (delivery.body["checkin_timestamp"], delivery.body["user_id"]))


def _month_days() -> Iterator[dt.date]:
    day = dt.date(2026, 11, 1)
    while day.month == 11:
        yield day
        day += dt.timedelta(days=1)


def _day_staff(employee: Employee, day: dt.date, rng: random.Random, with_group: bool = False) -> list[Delivery]:
    """Return one day of an 08:00–17:00 employee, Monday to Saturday, with the month's exceptions."""
    sunday_work = employee is HOA and day == dt.date(2026, 11, 22)
    if (day.isoweekday() == 7 and not sunday_work) or day == HOLIDAY:
        return []
    if employee is BINH and day == dt.date(2026, 11, 27):
        return []

    arrive = _at(day, 7, 48) + _jitter(rng, 14)
    leave = _at(day, 17, 1) + _jitter(rng, 20)
    if employee is AN and day == dt.date(2026, 11, 5):
        arrive = _at(day, 8, 17)
    if employee is AN and day == dt.date(2026, 11, 12):
        leave = _at(day, 19, 10)
    if employee is HOA and day == dt.date(2026, 11, 13):
        leave = _at(day, 12, 5)
    if sunday_work:
        arrive, leave = _at(day, 8, 2), _at(day, 12, 31)

    group = {"begin": 800, "end": 1700} if with_group else None
    scans = [_checkin(employee, arrive, group)]
    if employee is AN and day == dt.date(2026, 11, 19):
        scans.append(_checkin(employee, arrive + 40_000))
    if not (employee is BINH and day == dt.date(2026, 11, 18)):
        scans.append(_checkin(employee, leave))
    return scans


def _night_staff(employee: Employee, day: dt.date, rng: random.Random) -> list[Delivery]:
    """Return the night beginning on `day` (22:00–06:00), Monday to Saturday nights."""
    if day.isoweekday() == 7:
        return []
    arrive = _at(day, 21, 45) + _jitter(rng, 14)
    leave = _at(day + dt.timedelta(days=1), 6, 1) + _jitter(rng, 15)
    return [_checkin(employee, arrive, {"begin": 2200, "end": 600}), _checkin(employee, leave)]


def _events() -> list[Delivery]:
    """Return JOIN_EVENT check-ins at the year-end party planning meeting on 20/11."""
    return [
        _checkin(AN, _at(dt.date(2026, 11, 20), 14, 1), webhook_type="JOIN_EVENT"),
        _checkin(HOA, _at(dt.date(2026, 11, 20), 14, 3), webhook_type="JOIN_EVENT"),
    ]


def _jitter(rng: random.Random, minutes: int) -> int:
    """Return a seeded delay below `minutes`, in whole seconds, as ms."""
    return rng.randrange(minutes * 60) * 1000


def _at(day: dt.date, hour: int, minute: int) -> int:
    return int(pendulum.datetime(day.year, day.month, day.day, hour, minute, tz=DEMO_ZONE).timestamp() * 1000)


def _checkin(employee: Employee, instant_ms: int, group: dict[str, int] | None = None, webhook_type: str = "CHECKIN") -> Delivery:
    body: dict[str, Any] = {
        "user_id": employee.user_id,
        "workspace_id": WORKSPACE,
        "name": employee.name,
        "sex": employee.sex,
        "phone_number": employee.phone_number,
        "email": employee.email,
        "company_id": "demo-company",
        "office_location": employee.office_location,
        "machine_id": "may-cham-cong-1",
        "avatar": UNKNOWN,
        "checkin_timestamp": instant_ms,
    }
    if group is not None:
        body["working_group"] = group
    return Delivery(webhook_type, body)


# --- Running it -------------------------------------------------------------------------


def run_demo(directory: Path, language: Language = "vi", progress: Progress | None = None) -> DemoResult:
    """Run the demo in `directory` and return where it wrote the workbook.

    `progress(message_key, **values)` is called at each step with a `jobs.i18n` key.
    Raises DemoFolderInUse when the folder contains files the demo did not write.
    """
    from ingest.store import Store
    from jobs.export import export_excel
    from jobs.rollup import run_rollup
    from jobs.settings import load_settings

    report = progress or (lambda key, **values: None)
    config = _prepare_folder(directory, language)
    settings = load_settings(config, environ={})
    deliveries = demo_deliveries()

    store = Store.open(settings.database, settings.receiver.busy_timeout_ms)
    try:
        with _receiver(settings, store) as base_url:
            report("demo_receiver", url=f"{base_url}/webhooks/acheckin")
            _post_all(base_url, deliveries)
        report("demo_posted", count=len(deliveries), employees=len(EMPLOYEES), month=DEMO_MONTH)

        rolled = run_rollup(store, settings, DEMO_NOW_MS)
        report("demo_rolled_up", dates=rolled.dates_recomputed, employees=rolled.employees)
        workbook = export_excel(store, settings, DEMO_MONTH, None, DEMO_NOW_MS)
    finally:
        store.close()
    return DemoResult(workbook=workbook, database=settings.database, config=config, deliveries=len(deliveries), employees=len(EMPLOYEES))


def _prepare_folder(directory: Path, language: Language) -> Path:
    """Write the demo's config and key file, removing the database of an earlier run."""
    directory = directory.absolute()
    if directory.exists():
        strangers = [path for path in directory.iterdir() if path.name not in OWN_NAMES]
        if strangers:
            raise DemoFolderInUse(directory)
    directory.mkdir(parents=True, exist_ok=True)

    for name in (DATABASE_NAME, f"{DATABASE_NAME}-wal", f"{DATABASE_NAME}-shm"):
        (directory / name).unlink(missing_ok=True)
    (directory / KEYS_NAME).write_text(f"# The demo's API key; never use it for real deliveries.\n{DEMO_KEY}\n", encoding="utf-8")
    config = directory / CONFIG_NAME
    config.write_text(
        "# Written by `acheckin-sync demo`; rewritten at each run.\n"
        f'[ingest]\napi_keys_file = "{KEYS_NAME}"\n'
        f'[storage]\ndatabase = "{DATABASE_NAME}"\n'
        f'[attendance]\ntimezone = "{DEMO_ZONE}"\n'
        f'[export]\ndirectory = "{EXPORTS_NAME}"\nlanguage = "{language}"\n',
        encoding="utf-8",
    )
    return config


class _Receiver:
    """The real receiver under uvicorn in a thread, on a free port of 127.0.0.1."""

    def __init__(self, settings: Any, store: Any) -> None:
        from ingest.app import create_app

        app = create_app(settings.receiver, store, lambda: DEMO_NOW_MS)
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Without it, each keep-alive request waits about 40 ms for a delayed ACK.
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise DemoError("the demo receiver did not start within 10 s")
            time.sleep(0.01)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()


def _receiver(settings: Any, store: Any) -> _Receiver:
    return _Receiver(settings, store)


def _post_all(base_url: str, deliveries: list[Delivery]) -> None:
    """Post every delivery, several at once as ACheckin's many devices would.

    The receiver commits concurrent deliveries together, and arrival order never
    changes a figure, so the workbook is the same whatever order they land in.
    """
    with httpx.Client(base_url=base_url, timeout=10, trust_env=False) as client, ThreadPoolExecutor(max_workers=POST_CONCURRENCY) as pool:
        for delivery, response in zip(deliveries, pool.map(lambda delivery: _post(client, delivery), deliveries), strict=True):
            if response.status_code != 200:
                raise DemoError(f"the receiver returned {response.status_code} for a {delivery.webhook_type} delivery: {response.text[:300]}")


def _post(client: httpx.Client, delivery: Delivery) -> httpx.Response:
    return client.post(
        "/webhooks/acheckin",
        json=delivery.body,
        headers={"X-API-KEY": DEMO_KEY, "X-WEBHOOK-TYPE": delivery.webhook_type},
    )
