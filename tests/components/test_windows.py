"""Daily and weekly UTC windows: parsing, length across midnight and week ends, overlap."""

from __future__ import annotations

import pytest

from osp.components._windows import daily, weekly


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
