"""Shared pydantic building blocks."""

from datetime import datetime
from typing import Annotated, Any, ClassVar, Self
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field

from app.core.errors import Unprocessable
from app.core.money import is_currency

# Input bounds that keep every product of amounts and durations far inside BIGINT.
MAX_RATE = 10**9  # minor units per hour
MAX_SECONDS = 10**9


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
        mapping = getattr(obj, "_mapping", None)  # a result row: validating a dict is fastest
        if mapping is not None:
            return cls.model_validate({**mapping, **extra})
        return cls.model_validate(_With(obj, extra) if extra else obj)


class InputSchema(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PatchSchema(InputSchema):
    """A partial update: fields left out stay as they are.

    `not_null` names the fields that may be left out but not cleared; `changes()` is the
    one place that refuses a null for them (422 `field_not_nullable`).
    """

    not_null: ClassVar[frozenset[str]] = frozenset()

    def changes(self) -> dict[str, Any]:
        """The fields sent, by name."""
        fields = self.model_dump(exclude_unset=True)
        for name in sorted(self.not_null & fields.keys()):
            if fields[name] is None:
                raise Unprocessable(f"`{name}` cannot be null.", code="field_not_nullable")
        return fields


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


def _problem_response(description: str) -> dict[str, object]:
    return {
        "model": Problem,
        "description": description,
        "content": {"application/problem+json": {}},
    }


PROBLEM_RESPONSES: dict[int | str, dict[str, object]] = {
    400: _problem_response("Malformed request"),
    401: _problem_response("Missing or invalid credentials"),
    403: _problem_response("The caller's role forbids this"),
    404: _problem_response("Unknown object, or another team's"),
    409: _problem_response("State conflict"),
    422: _problem_response("Validation failed"),
    429: _problem_response("Rate limited"),
    503: _problem_response("The database or another service the request needs is unavailable"),
}
