"""Statements built once per shape, bound per request.

Building a SQLAlchemy statement in Python (comparisons, subqueries, ORDER BY, LIMIT) and
hashing its cache key costs more than PostgreSQL takes to answer a short read: on the
hot read it was the largest share of the request after the driver itself
(`docs/scaling.md`, "The hot read"). So the statements of lists and reports are built
once per *shape*: which of the caller's reaches applies and which filters are set. They
stand on named bind parameters (`Bound`, `bound`) in place of the request's values, and
each request passes its values (`caller_values` plus its filters) when it runs them.

`BOUND_CALLER` is the caller while a statement is built: the visibility helpers
(`visible_clients`, `visible_time`, ...) read its team and user, which become
`Bound.team` and `Bound.user_id`. Its role is never asked: the caller's reach is part of
the shape. `shaped` keeps one statement per shape and checks that it captured no
request value (a value captured while building would answer the next caller).
"""

import uuid
from collections.abc import Callable
from datetime import date
from functools import lru_cache, wraps
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import Uuid, bindparam, func
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter

from app.core.context import Caller, TeamContext
from app.core.permissions import Role

P = ParamSpec("P")
T = TypeVar("T")


class Bound:
    """The request values every scoped statement stands on."""

    team = bindparam("team_id", type_=Uuid)
    user_id = bindparam("user_id", type_=Uuid)


BOUND_CALLER = TeamContext(
    caller=Caller(kind="user", user_id=Bound.user_id),  # type: ignore[arg-type]
    team_id=Bound.team,  # type: ignore[arg-type]
    role=Role.member,
)


def bound(name: str, column: Any) -> BindParameter[Any]:
    """A request value compared with `column`, named `name` in the request's values."""
    return bindparam(name, type_=column.type)


def caller_values(ctx: TeamContext) -> dict[str, Any]:
    """The values of `Bound` for a request's caller."""
    return {"team_id": ctx.team_id, "user_id": ctx.user_id}


def like_pattern(text: str) -> str:
    """`%text%` for `ILIKE ... ESCAPE '/'`, its wildcards matched literally (what
    `icontains(..., autoescape=True)` does to a literal, for a bound value)."""
    escaped = text.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return f"%{escaped}%"


def contains(column: Any, name: str) -> Any:
    """`column` contains the request's text `name` (a `like_pattern`), ignoring case, as
    `icontains` says it: `lower(column) LIKE lower(pattern)`."""
    return func.lower(column).like(func.lower(bound(name, column)), escape="/")


# Values a kept statement may carry: constants of its shape (enum members, numbers,
# booleans), never a request's ids, instants, dates or text.
def _request_value(value: Any) -> bool:
    return isinstance(value, uuid.UUID | date) or type(value) is str


def check_shaped(statement: T) -> T:
    """`statement`, checked to hold no request value, to be kept for every request of
    its shape."""
    for element in visitors.iterate(statement):  # type: ignore[arg-type]
        if isinstance(element, BindParameter) and _request_value(element.value):
            raise AssertionError(f"a kept statement captured {element.value!r}")
    return statement


def shaped(build: Callable[P, T]) -> Callable[P, T]:
    """`build`, run once per distinct arguments (the statement's shape: hashable
    constants such as a reach, an enum or which filters are set), its statement checked
    by `check_shaped` and kept. A few hundred shapes are in use, each a few kilobytes."""

    @lru_cache(maxsize=256)
    @wraps(build)
    def once(*args: Any, **kwargs: Any) -> T:
        return check_shaped(build(*args, **kwargs))

    return once  # type: ignore[return-value]
