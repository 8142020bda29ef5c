"""The team's clock: dates and day boundaries in a team's IANA time zone.

Every "which day is it" question (entry dates for rates, invoice dates, overdue checks,
date filters, reports) goes through here, so a day is cut the same way everywhere,
daylight-saving changes included.
"""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


def today_in(tz: str) -> date:
    """Today's date in `tz`."""
    return datetime.now(ZoneInfo(tz)).date()


def local_time(moment: datetime, tz: str) -> datetime:
    """`moment` on the wall clock of `tz`."""
    return moment.astimezone(ZoneInfo(tz))


def local_date(moment: datetime, tz: str) -> date:
    """The date `moment` falls on in `tz`."""
    return moment.astimezone(ZoneInfo(tz)).date()


def day_start(day: date, tz: str) -> datetime:
    """The instant `day` begins in `tz`."""
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz))


def period_bounds(
    tz: str, start: datetime | date | None, end: datetime | date | None
) -> tuple[datetime | None, datetime | None]:
    """`from`/`to` as a half-open range of instants.

    A date means that whole day in `tz` (`to` inclusive); an instant is taken as is
    (`to` exclusive). None stays None (unbounded).
    """

    def at(value: datetime | date | None, *, end: bool) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return value
        return day_start(value + timedelta(days=1) if end else value, tz)

    return at(start, end=False), at(end, end=True)
