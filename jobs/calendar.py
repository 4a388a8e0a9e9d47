"""The firm's holiday calendar: statutory holidays, nghỉ bù from the firm's week, edits.

Statutory holidays come from the `holidays` package (0.109 or later, which lists
Ngày Văn hóa Việt Nam on 24/11 from 2026), asked with `observed=False`. Two things
it would add are dropped on purpose:

- its weekend-based observed days, because nghỉ bù depends on the firm's own week
  (Labor Code 2019, art. 111): a statutory holiday on one of the firm's weekly rest
  days gives off the first following firm work day that is not already a holiday or
  a nghỉ bù, so two such holidays give two days;
- its public-sector swap days ("Day off (substituted from …)"), which bind state
  offices only.

"Five days of Tết" is what the package lists: New Year's Eve (giao thừa) and the
first four days of the lunar year, 16–20/2/2026 and 5–9/2/2027. A firm that splits
Tết otherwise edits its year in config.

The firm's edits apply last: removed dates stop being holidays (a removed statutory
date also gives no nghỉ bù), extra paid holidays are added, extra unpaid days off and
make-up work days are reported as they are. Precedence between a date's kinds is the
rules' business (`jobs.rules`): holiday, then rest, then work.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Iterable

import holidays

from jobs.figures import HolidayKind
from jobs.policy import AttendancePolicy

COUNTRY = "VN"

_PACKAGE_LANGUAGES = {"vi": "vi", "en": "en_US"}

_SWAP_DAY_PREFIX = "Day off (substituted from"
"""Start of the package's English name for a public-sector swap day."""

_NAME_SEPARATOR = "; "
"""Separator the package puts between the names of two holidays on one date."""

_COMPENSATORY_NAMES = {"vi": "{name} (nghỉ bù)", "en": "{name} (compensatory day off)"}
_EXTRA_PAID_NAMES = {"vi": "Ngày nghỉ có hưởng lương của công ty", "en": "Paid holiday granted by the firm"}

_LOOKAHEAD_DAYS = 60
"""Days after a holiday searched for its nghỉ bù: a firm with one work day a week needs 7 at most."""


@dataclasses.dataclass(frozen=True)
class _YearFacts:
    """The holiday dates of one year, by kind, and the statutory date each nghỉ bù replaces."""

    kinds: dict[dt.date, HolidayKind]
    compensates: dict[dt.date, dt.date]


class Calendar:
    """The firm's calendar of holidays and day-kind edits, computed per year on demand.

    Every method takes local dates in the firm's zone. The object caches what it
    computes, so build one per policy and reuse it.
    """

    def __init__(self, policy: AttendancePolicy) -> None:
        self._policy = policy
        self._edits = policy.holidays
        self._statutory_names: dict[tuple[int, str], dict[dt.date, str]] = {}
        self._years: dict[int, _YearFacts] = {}

    def holiday_kind(self, date: dt.date) -> HolidayKind | None:
        """Return why `date` is a public holiday for this firm, or None when it is not one."""
        return self._facts(date.year).kinds.get(date)

    def is_extra_unpaid(self, date: dt.date) -> bool:
        """Return whether the firm's config makes `date` an extra unpaid day off."""
        return date in self._edits.extra_unpaid

    def makeup_weekday(self, date: dt.date) -> int | None:
        """Return the ISO weekday whose shifts apply on make-up work day `date`, else None."""
        return self._edits.makeup_work_days.get(date)

    def holiday_name(self, date: dt.date, language: str) -> str | None:
        """Return the name of holiday `date` in `language` ("vi" or "en"), else None.

        A nghỉ bù is named after the statutory holiday it replaces.
        """
        if language not in _PACKAGE_LANGUAGES:
            raise ValueError(f"Invalid language {language!r}: expected 'vi' or 'en'.")

        kind = self.holiday_kind(date)
        if kind is None:
            return None
        if kind is HolidayKind.STATUTORY:
            return self._statutory(date.year, language)[date]
        if kind is HolidayKind.COMPENSATORY:
            replaced = self._facts(date.year).compensates[date]
            name = self._statutory(replaced.year, language)[replaced]
            return _COMPENSATORY_NAMES[language].format(name=name)
        return _EXTRA_PAID_NAMES[language]

    def fingerprint(self, years: Iterable[int]) -> str:
        """Return a stable hash of every date-kind fact of `years`.

        It covers holiday kinds, extra unpaid days off and make-up work days (with
        their weekday), so it changes whenever the calendar could change a figure.
        Holiday names are left out because renaming a holiday changes no figure.
        """
        lines = []
        for year in sorted(set(years)):
            facts = self._facts(year)
            lines.extend(f"{date.isoformat()} {kind.value}" for date, kind in sorted(facts.kinds.items()))
            unpaid = sorted(date for date in self._edits.extra_unpaid if date.year == year)
            lines.extend(f"{date.isoformat()} extra_unpaid" for date in unpaid)
            lines.extend(
                f"{date.isoformat()} makeup {weekday}"
                for date, weekday in sorted(self._edits.makeup_work_days.items())
                if date.year == year
            )
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()

    def _facts(self, year: int) -> _YearFacts:
        facts = self._years.get(year)
        if facts is None:
            facts = self._compute_year(year)
            self._years[year] = facts
        return facts

    def _compute_year(self, year: int) -> _YearFacts:
        """Compute the holidays of `year`: statutory, then nghỉ bù, then the firm's edits.

        Nghỉ bù of a holiday late in the previous year can land in this one, so the
        previous year's statutory holidays take part in the search too.
        """
        removed = self._edits.removed
        statutory = {
            date
            for y in (year - 1, year)
            for date in self._statutory(y, "en")
            if date not in removed
        }
        taken = statutory | set(self._edits.extra_paid)

        compensates: dict[dt.date, dt.date] = {}
        for holiday in sorted(statutory):
            if holiday.isoweekday() in self._policy.work_days:
                continue
            day_off = self._next_free_work_day(holiday, taken)
            taken.add(day_off)
            compensates[day_off] = holiday

        kinds: dict[dt.date, HolidayKind] = {}
        for date in self._edits.extra_paid:
            if date.year == year:
                kinds[date] = HolidayKind.EXTRA_PAID
        for date in compensates:
            if date.year == year and date not in removed:
                kinds[date] = HolidayKind.COMPENSATORY
        for date in statutory:
            if date.year == year:
                kinds[date] = HolidayKind.STATUTORY

        kept = {date: replaced for date, replaced in compensates.items() if kinds.get(date) is HolidayKind.COMPENSATORY}
        return _YearFacts(kinds=kinds, compensates=kept)

    def _next_free_work_day(self, holiday: dt.date, taken: set[dt.date]) -> dt.date:
        for offset in range(1, _LOOKAHEAD_DAYS):
            candidate = holiday + dt.timedelta(days=offset)
            if candidate.isoweekday() in self._policy.work_days and candidate not in taken:
                return candidate
        raise ValueError(
            f"No firm work day within {_LOOKAHEAD_DAYS} days after the holiday {holiday.isoformat()} "
            f"to give as nghỉ bù: check the work days {sorted(self._policy.work_days)} in config."
        )

    def _statutory(self, year: int, language: str) -> dict[dt.date, str]:
        """Return the statutory holidays of `year` with their names in `language`.

        Swap days are recognised by their English name, so both languages list the
        same dates.
        """
        key = (year, language)
        names = self._statutory_names.get(key)
        if names is not None:
            return names

        english = _package_holidays(year, "en")
        local = english if language == "en" else _package_holidays(year, language)
        names = {}
        for date, english_name in english.items():
            kept = [part for part in english_name.split(_NAME_SEPARATOR) if not part.startswith(_SWAP_DAY_PREFIX)]
            if not kept:
                continue
            local_parts = local[date].split(_NAME_SEPARATOR)
            if len(local_parts) == len(english_name.split(_NAME_SEPARATOR)):
                local_parts = [
                    local_part
                    for local_part, english_part in zip(local_parts, english_name.split(_NAME_SEPARATOR))
                    if not english_part.startswith(_SWAP_DAY_PREFIX)
                ]
            names[date] = _NAME_SEPARATOR.join(local_parts)

        self._statutory_names[key] = names
        return names


def _package_holidays(year: int, language: str) -> dict[dt.date, str]:
    """Ask the `holidays` package for Vietnam's holidays of `year`, without observed days."""
    calendar = holidays.country_holidays(COUNTRY, years=year, observed=False, language=_PACKAGE_LANGUAGES[language])
    return dict(calendar.items())
