"""The Date and Message-ID ``smtptui send`` writes without email.utils: the date is
``email.utils.formatdate(t, localtime=True)`` in any zone and locale, the Message-ID has
the shape of ``make_msgid("smtptui", domain=...)``."""

from __future__ import annotations

import datetime
import email.headerregistry
import email.utils
import locale
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from smtptui.commands.send import format_date, make_message_id

ZONES = [
    "UTC", "Europe/Berlin", "America/New_York", "America/St_Johns", "Asia/Kolkata",
    "Asia/Kathmandu", "Australia/Lord_Howe", "Pacific/Chatham", "Pacific/Kiritimati",
    "America/Sao_Paulo", "Africa/Monrovia",  # -00:44:30 until 1972: formatdate's seconds
    "EST+5EDT,M3.2.0/2,M11.1.0/2",  # POSIX rules, no tz database needed
    "XYZ-5:30", "ABC+0:19:32",      # POSIX, the second one with seconds
]


@contextmanager
def local_zone(zone: str) -> Iterator[None]:
    saved = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    try:
        yield
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()


timestamps = st.one_of(
    st.integers(0, 2**31 - 1),                   # 1970 to 2038
    st.integers(-2**31, 253402300799 - 86400),   # 1902 to 9999
    st.sampled_from([0, 63072000, 1710054000, 1710053999, 1730613600, 1730613599,
                     951782400, 1709164800, 4107542400]),  # DST changes, 29 Feb, 2100
)


@pytest.mark.parametrize("zone", ZONES)
@settings(max_examples=150, deadline=None)
@given(when=timestamps)
@example(when=int(time.time()))
def test_the_date_is_formatdates(zone: str, when: int) -> None:
    with local_zone(zone):
        ours = format_date(when)
        assert ours == email.utils.formatdate(when, localtime=True)
        offset = time.localtime(when).tm_gmtoff
        if offset % 60:  # a zone of seconds (LMT): formatdate's "-001932" does not parse
            return
        parsed = email.utils.parsedate_to_datetime(ours)
        assert parsed == datetime.datetime.fromtimestamp(when, datetime.UTC)
        assert parsed.utcoffset() == datetime.timedelta(seconds=offset)


def test_the_date_is_english_in_any_locale() -> None:
    saved = locale.setlocale(locale.LC_TIME)
    for name in ("de_DE.UTF-8", "fr_FR.UTF-8", "ja_JP.UTF-8", "C.UTF-8"):
        try:
            locale.setlocale(locale.LC_TIME, name)
        except locale.Error:
            continue
        try:
            when = 1704132245  # a Monday in January
            assert format_date(when) == email.utils.formatdate(when, localtime=True)
            assert re.fullmatch(r"(Mon|Tue), 0[12] Jan 2024 .*", format_date(when))
        finally:
            locale.setlocale(locale.LC_TIME, saved)


def test_the_message_id_has_make_msgids_shape() -> None:
    domain = "client.test"
    ours = make_message_id(domain)
    theirs = email.utils.make_msgid("smtptui", domain=domain)
    assert re.fullmatch(r"<\d+\.\d+\.\d+\.smtptui@client\.test>", ours)
    assert re.sub(r"\d+", "N", ours) == re.sub(r"\d+", "N", theirs)
    centiseconds, pid, bits = (int(n) for n in ours[1:].split(".")[:3])
    assert abs(centiseconds - time.time() * 100) < 60 * 100
    assert pid == os.getpid() and 0 <= bits < 2**64
    header = email.headerregistry.HeaderRegistry()("Message-ID", ours)
    assert not header.defects and str(header) == ours


def test_message_ids_differ() -> None:
    ids = {make_message_id("client.test") for _ in range(2000)}
    assert len(ids) == 2000
