"""UTC time windows as AWS data stores take them: daily `hh:mm-hh:mm` (backups, snapshots)
and weekly `ddd:hh:mm-ddd:hh:mm` (maintenance)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from osp.platform.validation import Problems

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = r"([01]\d|2[0-3]):([0-5]\d)"
_DAILY = re.compile(f"{_CLOCK}-{_CLOCK}")
_WEEKLY = re.compile(f"({'|'.join(DAYS)}):{_CLOCK}-({'|'.join(DAYS)}):{_CLOCK}")
_DAY = 24 * 60
_WEEK = 7 * _DAY


@dataclass(frozen=True)
class Window:
    """A window on a circle of `period` minutes (a day or a week); it may wrap around."""

    start: int
    end: int
    period: int

    @property
    def minutes(self) -> int:
        return (self.end - self.start) % self.period

    def weekly_minutes(self) -> set[int]:
        """Every minute of the week the window covers (a daily one covers seven stretches)."""
        repeats = _WEEK // self.period
        return {
            (day * self.period + self.start + m) % _WEEK
            for day in range(repeats)
            for m in range(self.minutes)
        }

    def overlaps(self, other: Window) -> bool:
        return bool(self.weekly_minutes() & other.weekly_minutes())


def _minutes(hour: str, minute: str, day: str | None = None) -> int:
    return (DAYS.index(day) * _DAY if day else 0) + int(hour) * 60 + int(minute)


def daily(text: object) -> Window | None:
    """`hh:mm-hh:mm` as a daily window, or None when `text` is not one."""
    found = _DAILY.fullmatch(text) if isinstance(text, str) else None
    if not found:
        return None
    h1, m1, h2, m2 = found.groups()
    return Window(_minutes(h1, m1), _minutes(h2, m2), _DAY)


def weekly(text: object) -> Window | None:
    """`ddd:hh:mm-ddd:hh:mm` as a weekly window, or None when `text` is not one."""
    found = _WEEKLY.fullmatch(text) if isinstance(text, str) else None
    if not found:
        return None
    d1, h1, m1, d2, h2, m2 = found.groups()
    return Window(_minutes(h1, m1, d1), _minutes(h2, m2, d2), _WEEK)


def check_windows(
    check: Problems,
    *,
    daily_arg: str,
    daily_text: object,
    weekly_arg: str,
    weekly_text: object,
    minimum_minutes: int,
) -> None:
    """Record what is wrong with a data store's daily window (backups, snapshots) and its
    weekly maintenance window: each in its format, each at least `minimum_minutes` long, and
    the maintenance window clear of the daily one."""
    day = daily(daily_text)
    if day is None:
        check.add(daily_arg, daily_text, "a daily UTC window hh:mm-hh:mm such as 03:00-04:00")
    elif day.minutes < minimum_minutes:
        check.add(daily_arg, daily_text, f"a window of at least {minimum_minutes} minutes")
    week = weekly(weekly_text)
    if week is None:
        check.add(
            weekly_arg,
            weekly_text,
            "a weekly UTC window ddd:hh:mm-ddd:hh:mm such as sun:04:30-sun:05:30",
        )
    elif week.minutes < minimum_minutes:
        check.add(weekly_arg, weekly_text, f"a window of at least {minimum_minutes} minutes")
    elif day is not None and week.overlaps(day):
        check.add(
            weekly_arg, weekly_text, f"a window that does not overlap {daily_arg} {daily_text!r}"
        )
