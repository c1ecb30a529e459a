"""core.dates: the calendar arithmetic the message, TLS and server code share, checked
against the standard library's own."""

from __future__ import annotations

import calendar
import datetime

from hypothesis import given
from hypothesis import strategies as st

from smtptui.core.dates import (
    DAY_NAMES,
    MONTH_NAMES,
    days_in_month,
    days_since_epoch,
    is_leap,
    weekday,
)

EPOCH = datetime.date(1970, 1, 1).toordinal()


@given(st.dates())
def test_day_counts_and_weekdays_are_datetimes(day: datetime.date) -> None:
    assert days_since_epoch(day.year, day.month, day.day) == day.toordinal() - EPOCH
    assert weekday(day.year, day.month, day.day) == day.weekday()
    assert days_in_month(day.year, day.month) == calendar.monthrange(day.year, day.month)[1]
    assert is_leap(day.year) == calendar.isleap(day.year)


@given(st.integers(1, 9999), st.integers(1, 12), st.integers(1, 40))
def test_a_day_past_the_month_runs_on_as_timegm_counts(year: int, month: int,
                                                       day: int) -> None:
    seconds = calendar.timegm((year, month, day, 0, 0, 0))
    assert days_since_epoch(year, month, day) * 86400 == seconds


def test_english_names_in_struct_time_order() -> None:
    assert DAY_NAMES[datetime.date(2024, 1, 1).weekday()] == "Mon"
    assert [MONTH_NAMES[m - 1] for m in (1, 12)] == ["Jan", "Dec"]
