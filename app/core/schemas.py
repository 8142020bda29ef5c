"""Shared pydantic building blocks."""

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field

from app.core.money import is_currency


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class InputSchema(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Timestamps(Schema):
    created_at: datetime
    updated_at: datetime


def _currency(code: str) -> str:
    code = code.upper()
    if not is_currency(code):
        raise ValueError(f"{code!r} is not an ISO 4217 currency code")
    return code


def _timezone(name: str) -> str:
    from zoneinfo import available_timezones

    if name not in available_timezones():
        raise ValueError(f"{name!r} is not an IANA time zone")
    return name


def _lower(value: str) -> str:
    return value.lower()


Currency = Annotated[str, Field(min_length=3, max_length=3), AfterValidator(_currency)]
TimeZone = Annotated[str, Field(max_length=64), AfterValidator(_timezone)]
Email = Annotated[EmailStr, Field(max_length=320), AfterValidator(_lower)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
