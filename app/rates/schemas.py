from datetime import date

from pydantic import Field

from app.core.csv_export import CsvColumns
from app.core.schemas import MAX_RATE, Currency, Day, Id, InputSchema, PatchSchema, Timestamps
from app.rates.models import RateKind, RateScope


class RateIn(InputSchema):
    kind: RateKind = RateKind.bill
    scope: RateScope
    user_id: Id | None = None
    client_id: Id | None = None
    project_id: Id | None = None
    hourly_rate_amount: int = Field(ge=0, le=MAX_RATE)
    currency: Currency
    effective_from: Day
    note: str | None = Field(default=None, max_length=200)


class RatePatch(PatchSchema):
    not_null = frozenset({"hourly_rate_amount", "effective_from"})

    hourly_rate_amount: int | None = Field(default=None, ge=0, le=MAX_RATE)
    effective_from: Day | None = None
    note: str | None = Field(default=None, max_length=200)


class RateOut(Timestamps):
    id: Id
    kind: RateKind
    scope: RateScope
    user_id: Id | None
    client_id: Id | None
    project_id: Id | None
    hourly_rate_amount: int
    currency: str
    effective_from: date
    note: str | None


RATE_CSV = CsvColumns.of(RateOut)
