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
from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache, wraps
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import Uuid, bindparam, cast, func, literal_column, null, select, union_all
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter

from app.core.context import Caller, TeamContext
from app.core.permissions import Role

P = ParamSpec("P")
T = TypeVar("T")


class Bound:
    """The request values every scoped statement stands on. The caller's user is bound
    as `caller_id`, so that a list's own `user_id` filter can never stand in for it."""

    team = bindparam("team_id", type_=Uuid)
    user_id = bindparam("caller_id", type_=Uuid)


BOUND_CALLER = TeamContext(
    caller=Caller(kind="user", user_id=Bound.user_id),  # type: ignore[arg-type]
    team_id=Bound.team,  # type: ignore[arg-type]
    role=Role.member,
)


def bound(name: str, column: Any) -> BindParameter[Any]:
    """A request value compared with `column`, named `name` in the request's values."""
    return bindparam(name, type_=column.type)


def bound_ids(name: str) -> BindParameter[Any]:
    """An array of ids the request passes as `name` (`column = ANY(...)`, `unnest`)."""
    return bindparam(name, type_=ARRAY(Uuid))


def team_values(team_id: uuid.UUID) -> dict[str, Any]:
    """The value of `Bound.team` (for statements that read no caller: a contact's)."""
    return {Bound.team.key: team_id}


def caller_values(ctx: TeamContext) -> dict[str, Any]:
    """The values of `Bound` for a request's caller."""
    return {**team_values(ctx.team_id), Bound.user_id.key: ctx.user_id}


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
    """`statement` (or `Together`), checked to hold no request value, to be kept for
    every request of its shape."""
    clause = statement.statement if isinstance(statement, Together) else statement
    for element in visitors.iterate(clause):  # type: ignore[arg-type]
        if isinstance(element, BindParameter) and _request_value(element.value):
            raise AssertionError(f"a kept statement captured {element.value!r}")
    return statement


@dataclass(frozen=True)
class Together:
    """Statements read in one round trip (`together`): the statement, and for each part
    where its columns are in a row and how to make that part's own row of them."""

    statement: Any
    parts: tuple[tuple[int, int, Callable[[Any], Any]], ...]

    def split(self, rows: Sequence[Any]) -> list[list[Any]]:
        """The rows of each part, as rows of that part's own columns (names included)."""
        found: list[list[Any]] = [[] for _ in self.parts]
        for row in rows:
            first, end, make = self.parts[row[0]]
            found[row[0]].append(make(row[first:end]))
        return found


def together(*parts: Any) -> Together:
    """`parts` (selects or unions) as one `UNION ALL`, so a request that needs them all
    makes one round trip: the first column numbers the part, then come the columns of
    every part in turn, each row filling its own part's and leaving the others' NULL
    (typed, so values convert as they would alone). Rows keep no order across parts."""
    subqueries = [part.subquery(f"part_{i}") for i, part in enumerate(parts)]
    selects, spans, first = [], [], 1
    for i, sub in enumerate(subqueries):
        cells: list[Any] = [literal_column(str(i)).label("part")]
        for j, other in enumerate(subqueries):
            for k, column in enumerate(other.c):
                cell = column if j == i else cast(null(), column.type)
                cells.append(cell.label(f"part_{j}_{k}"))
        selects.append(select(*cells).select_from(sub))
        make = namedtuple("Row", [c.key for c in sub.c], rename=True)._make  # type: ignore[misc]
        spans.append((first, first + len(sub.c), make))
        first += len(sub.c)
    return Together(union_all(*selects), tuple(spans))


def shaped(build: Callable[P, T]) -> Callable[P, T]:
    """`build`, run once per distinct arguments (the statement's shape: hashable
    constants such as a reach, an enum or which filters are set), its statement checked
    by `check_shaped` and kept. A few hundred shapes are in use, each a few kilobytes."""

    @lru_cache(maxsize=256)
    @wraps(build)
    def once(*args: Any, **kwargs: Any) -> T:
        return check_shaped(build(*args, **kwargs))

    return once  # type: ignore[return-value]
