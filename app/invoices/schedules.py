"""Schedule dates: a schedule's first run date, and the period each run bills.

Periods follow one another: each starts the day after the previous one ended, so no day
is billed by two periods or by none. A monthly schedule keeps its anchor day (the 31st
runs on Feb 28, then on Mar 31 again), rather than sliding to the day a short month
clipped it to.
"""

import calendar
from datetime import date, timedelta

from app.invoices.models import InvoiceSchedule


def on_day(year: int, month: int, day: int) -> date:
    """`day` of the month, clamped to the month's last day."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def add_months(day: date, months: int, anchor: int | None = None) -> date:
    """The month `months` later (or earlier), on `anchor` (default `day`'s day), clamped."""
    month = day.month - 1 + months
    return on_day(day.year + month // 12, month % 12 + 1, anchor or day.day)


def first_run_on(schedule: InvoiceSchedule, today: date) -> date:
    """When a schedule set today first runs: weekly, next Monday; biweekly, the Monday
    after next; monthly, the 1st of next month (each bills the period before it)."""
    next_monday = today + timedelta(days=7 - today.weekday())
    if schedule is InvoiceSchedule.weekly:
        return next_monday
    if schedule is InvoiceSchedule.biweekly:
        return next_monday + timedelta(days=7)
    if schedule is InvoiceSchedule.monthly:
        return add_months(today, 1, anchor=1)
    raise ValueError("no schedule")


def schedule_period(
    schedule: InvoiceSchedule, run_on: date, anchor: int | None = None
) -> tuple[date, date, date]:
    """(period_start, period_end, next run) for a run due on `run_on`: the period just
    before it, starting where the previous run's period ended. `anchor` is a monthly
    schedule's day of the month (`run_on`'s day when missing or when `run_on` is not on it)."""
    if schedule is InvoiceSchedule.weekly:
        return run_on - timedelta(days=7), run_on - timedelta(days=1), run_on + timedelta(days=7)
    if schedule is InvoiceSchedule.biweekly:
        return run_on - timedelta(days=14), run_on - timedelta(days=1), run_on + timedelta(days=14)
    if schedule is InvoiceSchedule.monthly:
        if anchor is None or on_day(run_on.year, run_on.month, anchor) != run_on:
            anchor = run_on.day
        return (
            add_months(run_on, -1, anchor),
            run_on - timedelta(days=1),
            add_months(run_on, 1, anchor),
        )
    raise ValueError("no schedule")
