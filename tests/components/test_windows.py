"""Daily and weekly UTC windows: parsing, length across midnight and week ends, overlap."""

from __future__ import annotations

import pytest

from osp.components._windows import check_windows, daily, weekly
from osp.platform.validation import Problems


def test_lengths_wrap_around_midnight_and_the_week_end():
    assert daily("23:30-00:30").minutes == 60
    assert weekly("sun:23:00-mon:01:00").minutes == 120


@pytest.mark.parametrize(
    ("backup", "maintenance", "meet"),
    [
        ("03:00-04:00", "sun:04:30-sun:05:30", False),
        ("03:00-04:00", "wed:03:30-wed:04:30", True),  # a daily window repeats every day
        ("23:30-00:30", "mon:00:00-mon:01:00", True),  # across midnight
        ("23:30-00:30", "sun:23:00-mon:00:10", True),  # across the end of the week
        ("04:00-05:00", "sat:03:00-sat:04:00", False),  # touching ends do not overlap
    ],
)
def test_overlap(backup, maintenance, meet):
    assert daily(backup).overlaps(weekly(maintenance)) is meet
    assert weekly(maintenance).overlaps(daily(backup)) is meet


@pytest.mark.parametrize("text", ["3:00-04:00", "24:00-01:00", "03:00", None, 300])
def test_not_a_daily_window(text):
    assert daily(text) is None


@pytest.mark.parametrize("text", ["sun:04:30-sun:5:30", "xyz:04:30-sun:05:30", "04:30-05:30"])
def test_not_a_weekly_window(text):
    assert weekly(text) is None


def window_problems(backup: object, maintenance: object, minimum: int = 30) -> list[str]:
    check = Problems("Db", "d")
    check_windows(check, daily_arg="backup_window", daily_text=backup,
                  weekly_arg="maintenance_window", weekly_text=maintenance,
                  minimum_minutes=minimum)  # fmt: skip
    return check.found


@pytest.mark.parametrize(
    ("backup", "maintenance", "minimum", "expected"),
    [
        ("03:00-04:00", "sun:04:30-sun:05:30", 30, []),
        ("03:00-04:00", "sun:04:30-sun:05:30", 60, []),
        ("03:00-03:45", "sun:04:30-sun:05:30", 60,
         ["backup_window: got '03:00-03:45'; expected a window of at least 60 minutes"]),
        ("3:00-4:00", "sun:04:30-sun:04:40", 30,
         ["backup_window: got '3:00-4:00'; expected a daily UTC window hh:mm-hh:mm such as "
          "03:00-04:00",
          "maintenance_window: got 'sun:04:30-sun:04:40'; expected a window of at least 30 "
          "minutes"]),
        (None, "sunday", 30,
         ["backup_window: got None; expected a daily UTC window hh:mm-hh:mm such as 03:00-04:00",
          "maintenance_window: got 'sunday'; expected a weekly UTC window ddd:hh:mm-ddd:hh:mm "
          "such as sun:04:30-sun:05:30"]),
        ("03:00-04:00", "wed:03:30-wed:04:30", 30,
         ["maintenance_window: got 'wed:03:30-wed:04:30'; expected a window that does not "
          "overlap backup_window '03:00-04:00'"]),
        # A daily window too short is still a window: the overlap is reported too.
        ("03:00-03:10", "wed:03:00-wed:04:00", 30,
         ["backup_window: got '03:00-03:10'; expected a window of at least 30 minutes",
          "maintenance_window: got 'wed:03:00-wed:04:00'; expected a window that does not "
          "overlap backup_window '03:00-03:10'"]),
    ],
)  # fmt: skip
def test_check_windows(backup, maintenance, minimum, expected):
    assert window_problems(backup, maintenance, minimum) == [f"Db d: {e}" for e in expected]
