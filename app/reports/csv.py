"""Reports as CSV: each report's rows, then a `Total` row, through the one writer
(`app.core.csv_export`). Rows carry the report's currency, so money columns are in
major units beside it; the aging buckets are money, so their columns say so."""

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import date
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.csv_export import CsvColumns, CsvResponse, csv_filename
from app.core.schemas import Schema
from app.reports.schemas import (
    OutstandingReport,
    RevenueReport,
    RevenueRow,
    TimeReport,
    TimeRow,
    UninvoicedReport,
    UninvoicedRow,
)

TOTAL = "Total"


class TimeCsvRow(TimeRow):
    currency: str


class RevenueCsvRow(RevenueRow):
    currency: str


class AgingCsvRow(Schema):
    client_id: uuid.UUID | None
    label: str
    currency: str
    invoice_count: int
    outstanding_amount: int
    current_amount: int
    days_1_30_amount: int
    days_31_60_amount: int
    days_61_90_amount: int
    over_90_amount: int


class UninvoicedCsvRow(UninvoicedRow):
    base_currency: str


TIME_CSV = CsvColumns.of(TimeCsvRow)
REVENUE_CSV = CsvColumns.of(RevenueCsvRow)
AGING_CSV = CsvColumns.of(AgingCsvRow)
UNINVOICED_CSV = CsvColumns.of(UninvoicedCsvRow, currency_of={"base_amount": "base_currency"})


async def _once(rows: Sequence[BaseModel]) -> AsyncIterator[Sequence[BaseModel]]:
    yield rows


def _response(
    session: AsyncSession, columns: CsvColumns[Any], rows: Sequence[BaseModel], filename: str
) -> CsvResponse:
    return CsvResponse(session, columns, _once(rows), filename)


def time_csv(session: AsyncSession, report: TimeReport) -> CsvResponse:
    rows = [TimeCsvRow(**r.model_dump(), currency=report.currency) for r in report.rows]
    rows.append(
        TimeCsvRow(**report.totals.model_dump(), key=None, label=TOTAL, currency=report.currency)
    )
    return _response(session, TIME_CSV, rows, csv_filename("time-report", report.from_, report.to))


def revenue_csv(session: AsyncSession, report: RevenueReport) -> CsvResponse:
    rows = [RevenueCsvRow(**r.model_dump(), currency=report.currency) for r in report.rows]
    rows.append(
        RevenueCsvRow(**report.totals.model_dump(), key="", label=TOTAL, currency=report.currency)
    )
    return _response(
        session, REVENUE_CSV, rows, csv_filename("revenue-report", report.from_, report.to)
    )


def _aging(figures: Any, currency: str, client_id: uuid.UUID | None, label: str) -> AgingCsvRow:
    return AgingCsvRow(
        client_id=client_id,
        label=label,
        currency=currency,
        invoice_count=figures.invoice_count,
        outstanding_amount=figures.outstanding_amount,
        current_amount=figures.current,
        days_1_30_amount=figures.days_1_30,
        days_31_60_amount=figures.days_31_60,
        days_61_90_amount=figures.days_61_90,
        over_90_amount=figures.over_90,
    )


def outstanding_csv(session: AsyncSession, report: OutstandingReport) -> CsvResponse:
    rows = [_aging(r, report.currency, r.client_id, r.label) for r in report.rows]
    rows.append(_aging(report.totals, report.currency, None, TOTAL))
    return _response(session, AGING_CSV, rows, csv_filename("outstanding", report.as_of))


def uninvoiced_csv(session: AsyncSession, report: UninvoicedReport, today: date) -> CsvResponse:
    rows = [UninvoicedCsvRow(**r.model_dump(), base_currency=report.currency) for r in report.rows]
    return _response(session, UNINVOICED_CSV, rows, csv_filename("uninvoiced", today))
