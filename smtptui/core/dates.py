"""Calendar facts for the dates SMTP messages and certificates carry, without importing
``datetime``, ``calendar`` or ``time.strptime`` (each costs start-up): the English day and
month names of RFC 5322 dates (whatever the locale) and proleptic Gregorian day counts.
"""

from __future__ import annotations

__all__ = ["DAY_NAMES", "MONTH_NAMES", "days_in_month", "days_since_epoch", "is_leap",
           "weekday"]

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
"""Monday first, as ``time.struct_time.tm_wday`` and ``datetime.weekday()`` count."""
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
               "Dec")

_BEFORE_MONTH = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_in_month(year: int, month: int) -> int:
    return 29 if month == 2 and is_leap(year) else _MONTH_DAYS[month - 1]


def days_since_epoch(year: int, month: int, day: int) -> int:
    """Days from 1970-01-01 to the date (negative before it), as ``calendar.timegm``
    counts them: a day past the end of its month runs on into the next."""
    y = year - 1
    days = 365 * y + y // 4 - y // 100 + y // 400 - 719162  # 719162: days of 1..1969
    return days + _BEFORE_MONTH[month - 1] + (month > 2 and is_leap(year)) + day - 1


def weekday(year: int, month: int, day: int) -> int:
    """0 for Monday .. 6 for Sunday (``datetime.weekday()``); 1970-01-01 was a Thursday."""
    return (days_since_epoch(year, month, day) + 3) % 7
