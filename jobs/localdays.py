"""Local dates of the firm's zone as Unix-ms instants, without a datetime per check-in.

The rules compare instants (Unix ms) and need, for each date they look at, the
instant its local midnight falls on and the instant of a clock time on it. This
module computes those once per date with `zoneinfo`, whatever the machine's zone,
and keeps days with a daylight-saving change exact.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
from zoneinfo import ZoneInfo

MINUTE_MS = 60_000
DAY_MS = 86_400_000
MINUTES_PER_DAY = 1440


class LocalDays:
    """Consecutive local dates of one zone, with the instant each begins at.

    Index 0 is `first`. `instant` turns a date index and a clock time into Unix ms.
    `index_of` finds the date of an instant by bisection, so no datetime object is
    built per check-in.
    """

    def __init__(self, zone: ZoneInfo, first: dt.date, count: int) -> None:
        self.zone = zone
        self.first = first
        self.dates = [first + dt.timedelta(days=offset) for offset in range(count)]
        first_ordinal = first.toordinal()
        self.midnights = [_midnight(zone, first_ordinal + offset) for offset in range(count + 1)]
        self.regular = [self.midnights[i + 1] - self.midnights[i] == DAY_MS for i in range(count)]

    def __len__(self) -> int:
        return len(self.dates)

    def index_of(self, instant_ms: int) -> int:
        """Return the index of the local date of `instant_ms`; out of range gives -1 or len."""
        return bisect.bisect_right(self.midnights, instant_ms) - 1

    def index_of_date(self, date: dt.date) -> int:
        return date.toordinal() - self.first.toordinal()

    def instant(self, index: int, minute: int) -> int:
        """Return the instant of clock time `minute` (may exceed 1440: later days) on date `index`."""
        index += minute // MINUTES_PER_DAY
        minute %= MINUTES_PER_DAY
        if self.regular[index]:
            return self.midnights[index] + minute * MINUTE_MS
        return _local_instant(self.zone, self.dates[index], minute)


@functools.lru_cache(maxsize=65_536)
def _midnight(zone: ZoneInfo, ordinal: int) -> int:
    """Return the Unix ms at which the local date with proleptic `ordinal` begins; cached across calls."""
    return _local_instant(zone, dt.date.fromordinal(ordinal), 0)


def _local_instant(zone: ZoneInfo, date: dt.date, minute: int) -> int:
    """Return the Unix ms of local `date` at clock time `minute` (the earlier one when ambiguous)."""
    local = dt.datetime(date.year, date.month, date.day, minute // 60, minute % 60, tzinfo=zone)
    return int(local.timestamp()) * 1000


def days_around(zone: ZoneInfo, first: dt.date, last: dt.date, margin: int) -> LocalDays:
    """Return the local dates from `margin` days before `first` to `margin` days after `last`."""
    start = first - dt.timedelta(days=margin)
    count = (last - first).days + 2 * margin + 1
    return LocalDays(zone, start, count)
