"""Shared pydantic building blocks.

Every JSON body is an `InputSchema`: the one place that refuses NUL characters in body
strings and lax JSON types (an integer or boolean must come as one). Every date and
instant a client sends, in a body or a query, is a `Day` or an `Instant`: the one place
that keeps them to RFC 3339 and to 2000-01-01..2100-12-31.
"""

import re
import uuid
from datetime import UTC, date, datetime, time
from functools import cache
from types import NoneType, UnionType
from typing import Annotated, Any, ClassVar, Self, Union, get_args, get_origin
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    GetJsonSchemaHandler,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, PydanticKnownError

from app.core.errors import Unprocessable
from app.core.money import is_currency

# Every id a schema holds (`tests/test_architecture.py` keeps it so), written to JSON by
# `str`. pydantic writes a `uuid.UUID` fast but takes its slow path for the driver's own
# UUID subclass (asyncpg's: type inference, ~1 us an id); an invoice page can list
# 10,000 entry ids.
Id = Annotated[
    uuid.UUID,
    PlainSerializer(str, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "uuid"}, mode="serialization"),
]

# Input bounds that keep every product of amounts and durations far inside BIGINT.
MAX_RATE = 10**9  # minor units per hour
MAX_SECONDS = 10**9

# Dates and instants a client may send; beyond them PostgreSQL or date arithmetic
# overflows, and nothing billed by the hour lives there.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2100, 12, 31)
_FIRST_INSTANT = datetime.combine(FIRST_DAY, time(), UTC)
_AFTER_LAST_INSTANT = datetime(LAST_DAY.year + 1, 1, 1, tzinfo=UTC)
# The longest invoice or run period, both ends included (a leap year).
MAX_PERIOD_DAYS = 366

# Validation error types that name a rule of their own: the problem's `code` is the type.
CODED_ERRORS = frozenset(
    {"invalid_character", "date_out_of_range", "period_too_long", "invalid_period"}
)

_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def _rfc3339(value: Any) -> Any:
    """An instant comes as an RFC 3339 string with an offset (never a number: lax parsing
    would read `0.5` as a Unix time); Python callers may pass an aware datetime."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _RFC3339.fullmatch(value):
        return value
    raise PydanticCustomError(
        "datetime_format",
        "Input should be an RFC 3339 timestamp with an offset, e.g. 2026-03-01T09:00:00Z",
    )


def _instant_in_range(value: datetime) -> datetime:
    # Compared, not converted: aware comparisons never overflow, astimezone() may.
    if not _FIRST_INSTANT <= value < _AFTER_LAST_INSTANT:
        raise PydanticCustomError(
            "date_out_of_range",
            "Instants must fall between {first} and {last} (UTC).",
            {"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()},
        )
    return value


def _iso_day(value: Any) -> Any:
    """A day comes as `YYYY-MM-DD`; Python callers may pass a date."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        return value
    raise PydanticCustomError("date_format", "Input should be a date as YYYY-MM-DD")


def _day_in_range(value: date) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise PydanticCustomError(
            "date_out_of_range",
            "Dates must fall between {first} and {last}.",
            {"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()},
        )
    return value


# Every instant and date a client sends, in a body or a query, is one of these.
Instant = Annotated[AwareDatetime, BeforeValidator(_rfc3339), AfterValidator(_instant_in_range)]
Day = Annotated[date, BeforeValidator(_iso_day), AfterValidator(_day_in_range)]


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


@cache
def _json_scalar(annotation: Any) -> type | None:
    """`int` or `bool` when a field holds one (or null): JSON has those types, so the
    input must be one. Other types (ids, enums, decimals, dates) come as JSON strings."""
    members = get_args(annotation) if get_origin(annotation) in (Union, UnionType) else ()
    kinds = {m for m in members if m is not NoneType} if members else {annotation}
    kind = next(iter(kinds)) if len(kinds) == 1 else None
    return kind if kind in (int, bool) else None


class _With:
    """An object's attributes with some added: what `Schema.of` validates from."""

    __slots__ = ("_extra", "_obj")

    def __init__(self, obj: object, extra: dict[str, Any]) -> None:
        self._obj, self._extra = obj, extra

    def __getattr__(self, name: str) -> Any:
        extra = self._extra
        return extra[name] if name in extra else getattr(self._obj, name)


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def of(cls, obj: object, **extra: Any) -> Self:
        """`obj` (an ORM object or a result row) as this schema, with `extra` fields added
        (derived values such as member ids, or a rate hidden from the caller's role)."""
        # The validator itself: `model_validate` adds a Python call's overhead per item.
        validate = cls.__pydantic_validator__.validate_python
        as_dict = getattr(obj, "_asdict", None)  # a result row: validating a dict is fastest
        if as_dict is not None:
            values = as_dict()
            values.update(extra)
            return validate(values)  # type: ignore[no-any-return]
        return validate(_With(obj, extra) if extra else obj)  # type: ignore[no-any-return]


class InputSchema(BaseModel):
    """A JSON body: unknown fields, NUL characters and lax JSON types are refused.

    Not `strict=True`: FastAPI validates the parsed body in Python mode, where strict
    pydantic refuses the strings JSON uses for ids, enums, decimals and dates. Lax parsing
    is wrong only for integers and booleans (`true` read as 1, `"100"` as 100), so those
    are checked here; instants and dates are `Instant` and `Day`.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _json_input(cls, value: Any, info: ValidationInfo) -> Any:
        # PostgreSQL cannot store U+0000 in text: refused here, before any statement.
        if _has_nul(value):
            raise PydanticCustomError(
                "invalid_character", "Text must not contain NUL characters (U+0000)."
            )
        kind = _json_scalar(cls.model_fields[info.field_name or ""].annotation)
        if kind is not None and value is not None and type(value) is not kind:
            raise PydanticKnownError("int_type" if kind is int else "bool_type")
        return value


PATCH_DESCRIPTION = (
    "A partial update: a field left out stays as it is; null clears a nullable field. "
    "A field that is not nullable may be left out, but null is refused "
    "(422 `field_not_nullable`)."
)


def _without_null(field: JsonSchemaValue) -> None:
    """Drop the `null` branch (and the null default) of a field's JSON schema, in place."""
    field.pop("default", None)
    branches = field.get("anyOf")
    if branches is None:
        return
    kept = [b for b in branches if b != {"type": "null"}]
    if len(kept) == 1:
        del field["anyOf"]
        field.update(kept[0])
    else:
        field["anyOf"] = kept


class PatchSchema(InputSchema):
    """A partial update: fields left out stay as they are; a null clears a field.

    `not_null` names the fields that may be left out but not cleared; `changes()` is the
    one place that refuses a null for them (422 `field_not_nullable`), and the JSON schema
    (so the OpenAPI) declares them not nullable. Every other field clears on null.
    """

    not_null: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = super().__get_pydantic_json_schema__(core_schema, handler)
        target = handler.resolve_ref_schema(schema)
        target.setdefault("description", PATCH_DESCRIPTION)
        for name in cls.not_null:
            _without_null(target["properties"][name])
        return schema

    def changes(self) -> dict[str, Any]:
        """The fields sent, by name."""
        fields = self.model_dump(exclude_unset=True)
        for name in sorted(self.not_null & fields.keys()):
            if fields[name] is None:
                raise Unprocessable(f"`{name}` cannot be null.", code="field_not_nullable")
        return fields


class PeriodSchema(InputSchema):
    """A body with a period of days (`period_start`..`period_end`, both included): in
    order, and at most `MAX_PERIOD_DAYS` long when both ends are given (a draft without
    an end runs to today: `check_period` then). Subclasses may make them required."""

    period_start: Day | None = None
    period_end: Day | None = None

    @model_validator(mode="after")
    def _period_length(self) -> Self:
        if self.period_start is not None and self.period_end is not None:
            check_period(self.period_start, self.period_end)
        return self


def check_period(start: date, end: date) -> None:
    """`start`..`end` (both included) is in order and at most `MAX_PERIOD_DAYS` long."""
    if start > end:
        raise PydanticCustomError("invalid_period", "`period_start` is after `period_end`.")
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise PydanticCustomError(
            "period_too_long", "A period covers at most {days} days.", {"days": MAX_PERIOD_DAYS}
        )


class Timestamps(Schema):
    created_at: datetime
    updated_at: datetime


def _currency(code: str) -> str:
    code = code.upper()
    if not is_currency(code):
        raise ValueError(f"{code!r} is not an ISO 4217 currency code")
    return code


def _timezone(name: str) -> str:
    if name not in available_timezones():
        raise ValueError(f"{name!r} is not an IANA time zone")
    return name


def _lower(value: str) -> str:
    return value.lower()


Currency = Annotated[str, Field(min_length=3, max_length=3), AfterValidator(_currency)]
TimeZone = Annotated[str, Field(max_length=64), AfterValidator(_timezone)]
Email = Annotated[EmailStr, Field(max_length=320), AfterValidator(_lower)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class ProblemError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str | None = None


class Problem(BaseModel):
    """An error, as `application/problem+json` (RFC 9457); `code` is stable."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[ProblemError] | None = None
    request_id: str | None = None
