"""Engine, declarative base and the one unit of work.

A request or a job owns exactly one session and commits it once; services only
`flush()`. Jobs deferred with `app.core.jobs.defer` during the unit of work are sent to
the queue after the commit and dropped on rollback.
"""

import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    MetaData,
    Uuid,
    any_,
    bindparam,
    delete,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.core.errors import AppError
from app.core.ids import new_id
from app.core.jobs import queue_ready, send_deferred
from app.core.tenancy import enter_team

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True), uuid.UUID: Uuid}


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        server_default=func.now(), onupdate=func.now(), index=True
    )


class RecordModel(TimestampMixin, Base):
    """Base of every table with its own id: UUIDv7 primary key and timestamps."""

    __abstract__ = True

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)


def team_fk(
    column: str, target: str, *, target_column: str = "id", ondelete: str | None = None
) -> ForeignKeyConstraint:
    """A composite foreign key `(team_id, column) -> target(team_id, target_column)`.

    Including `team_id` makes it impossible for a row to point into another team, and
    keeps the schema distributable by `team_id`. For nullable references use
    `ondelete="SET NULL (column)"` so only that column is cleared.
    """
    return ForeignKeyConstraint(
        ["team_id", column],
        [f"{target}.team_id", f"{target}.{target_column}"],
        ondelete=ondelete,
    )


def user_link_args(table: str, *, parent: str) -> tuple[Any, ...]:
    """`__table_args__` of a table linking team members to a `parent` row.

    Client members, contact assignees and project members all have the shape
    `(team_id, {parent}_id, user_id)`: the parent and the membership are composite keys
    (so a link never crosses teams) and both cascade on delete.
    """
    return (
        team_fk(f"{parent}_id", parent, ondelete="CASCADE"),
        ForeignKeyConstraint(
            ["team_id", "user_id"],
            ["team_membership.team_id", "team_membership.user_id"],
            ondelete="CASCADE",
        ),
        Index(f"ix_{table}_team_id_user_id", "team_id", "user_id"),
    )


class TeamScoped:
    """A team-owned row: `team_id` first, unique with `id` so others can reference both."""

    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))


def any_of(column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """`column = ANY(:values)`: one array parameter instead of an `IN` list.

    The statement's text does not depend on how many values there are, so it is compiled
    and prepared once, not once per page size.
    """
    return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))  # type: ignore[no-any-return]


def async_url(url: str) -> str:
    """Normalise any PostgreSQL URL to the asyncpg driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


SETTINGS = "hourline_settings"
_HANDOVER = "hourline_handover"


def hand_over_unit_of_work(session: AsyncSession, take: Callable[[AsyncExitStack], None]) -> None:
    """Ask the request's unit of work not to end when the endpoint returns but to be
    handed to `take` (an exit stack its new owner must close: `aclose()` commits,
    `__aexit__` with an exception rolls back). A streamed response uses it to read from
    the request's transaction while it sends."""
    session.info[_HANDOVER] = take


def handover_of(session: AsyncSession) -> Callable[[AsyncExitStack], None] | None:
    """Who asked to take over the session's unit of work, once (see
    `hand_over_unit_of_work`)."""
    return session.info.pop(_HANDOVER, None)  # type: ignore[no-any-return]


# Connections are replaced after this long, so none outlives a server-side idle timeout.
POOL_RECYCLE_SECONDS = 1800


class Database:
    """The engine and its session factory.

    No pre-ping: checking every connection out with a round trip would cost each request
    one. A connection that died anyway (a database restart) fails its first statement;
    SQLAlchemy then discards the whole pool, and that one request answers 503
    `database_unavailable` (`is_unavailable`); the next gets fresh connections.
    """

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        connect_timeout: float = 5,
        settings: Any = None,
        **engine_kw: Any,
    ) -> None:
        # The process's settings, handed to each unit of work (`session.info["settings"]`)
        # for what is built deep inside a service, such as an event's pay link.
        self.settings = settings
        engine_kw.setdefault("pool_recycle", POOL_RECYCLE_SECONDS)
        # The connection used last is handed out next: its prepared statements and its
        # server process are warm, and connections a quiet period leaves unused are the
        # ones that age out.
        engine_kw.setdefault("pool_use_lifo", True)
        # Bounded: a server that hangs makes a 503 after `connect_timeout`, not a hang.
        engine_kw.setdefault("connect_args", {}).setdefault("timeout", connect_timeout)
        self.engine: AsyncEngine = create_async_engine(
            async_url(url), pool_size=pool_size, **engine_kw
        )
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    async def dispose(self) -> None:
        await self.engine.dispose()


def is_unavailable(exc: BaseException) -> bool:
    """Whether `exc` means the database cannot be reached (not a bad statement)."""
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)
    return isinstance(exc, OSError | TimeoutError)


async def flush_or_raise(session: AsyncSession, errors: dict[str, Exception]) -> None:
    """Flush; a violation of one of the named constraints becomes the mapped error.

    The flush runs in a savepoint, so the session stays usable after the violation
    (the database, not a prior SELECT, decides races such as overlaps or duplicates).
    """
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.orig, "__cause__", None), "constraint_name", None)
        message = str(exc.orig)
        for name, error in errors.items():
            if name == constraint or name in message:
                raise error from None
        raise


@asynccontextmanager
async def unit_of_work(
    db: Database, queue: Any, *, team_id: uuid.UUID | None = None
) -> AsyncIterator[AsyncSession]:
    """One transaction: commit on success, roll back on error, then send deferred jobs.

    With `team_id` the transaction is confined to that team from its first statement
    (row-level security, see `app.core.tenancy.enter_team`). A request's transaction is
    confined by its authentication query instead, once the team is known.
    """
    async with db.sessionmaker() as session:
        session.info[SETTINGS] = db.settings
        try:
            if team_id is not None:
                await enter_team(session, team_id)
            yield session
            await queue_ready(session, queue)
            await session.commit()
        except AppError as exc:
            if exc.keep_changes:
                await session.commit()
            else:
                await session.rollback()
            raise
        except BaseException:
            await session.rollback()
            raise
    await send_deferred(session, queue)


async def delete_in_batches(
    db: Database, queue: Any, model: Any, *conditions: ColumnElement[bool], batch: int
) -> int:
    """Delete `model`'s rows matching `conditions`, oldest id first, `batch` rows per
    transaction (retention jobs: no long lock, no long transaction); returns how many."""
    total = 0
    while True:
        async with unit_of_work(db, queue) as session:
            ids = select(model.id).where(*conditions).order_by(model.id).limit(batch)
            result = await session.execute(delete(model).where(model.id.in_(ids.scalar_subquery())))
            deleted: int = result.rowcount  # type: ignore[attr-defined]
        total += deleted
        if deleted < batch:
            return total
