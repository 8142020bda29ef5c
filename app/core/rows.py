"""Column selects read on the asyncpg driver: the lists', the reports' and authentication's
way to read.

SQLAlchemy builds and compiles the statement and converts values in and out, exactly as
for any other statement; only the execution goes straight to the unit of work's asyncpg
connection, inside the same transaction. That skips SQLAlchemy's per-execution layer
(greenlet hops, the execution context, cursor adaption, `Row` objects), about half of
the cost of a short read (`docs/scaling.md`, "The hot read").

What SQLAlchemy would do per execution is done here from its compiled statement,
compiled once per cache key:

- the statement's SQL, its positional bind names, their bind processors (enums, for
  example) and its result processors (enums, JSON) come from the compiled form;
- the values of a statement built per request are extracted by its cache key, as
  SQLAlchemy's own statement cache does;
- the transaction is begun as SQLAlchemy's asyncpg adapter begins it (lazily, on the
  first statement), so a read sent first still runs inside the request's transaction;
- a driver error goes through SQLAlchemy's own error handling, so it raises the same
  `DBAPIError` and a lost connection invalidates the pool as it would.

Statements this does not cover (expanding `IN` lists, schema translation) run through
SQLAlchemy unchanged.
"""

from collections import OrderedDict, namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn
from weakref import WeakKeyDictionary

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.base import Executable

# Compiled statements kept per process, by cache key (as SQLAlchemy's own cache).
_CACHE_SIZE = 500
_DRIVER = "hourline_driver"
_DRIVER_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)


@dataclass(frozen=True, slots=True)
class _Plan:
    """One compiled statement, ready to run on the driver."""

    compiled: Any
    sql: str
    names: tuple[str, ...]
    binds: tuple[Callable[[Any], Any] | None, ...]
    results: tuple[tuple[int, Callable[[Any], Any]], ...]  # (position, its processor)
    row: Callable[[Any], Any]


_plans: OrderedDict[Any, _Plan | None] = OrderedDict()


async def _plan(stmt: Executable, key: Any, dialect: Any, driver: Any) -> _Plan | None:
    """`stmt` compiled as SQLAlchemy compiles it for execution, or None for a statement
    whose SQL changes with its values (those run through SQLAlchemy)."""
    compiled = stmt.compile(dialect=dialect, cache_key=key)  # type: ignore[call-arg]
    if (
        compiled.literal_execute_params
        or compiled.post_compile_params
        or compiled.schema_translate_map
        or not compiled.positional
    ):
        return None
    names = tuple(compiled.positiontup or ())
    processors = compiled._bind_processors
    columns = compiled._result_columns
    # Some result processors depend on the column's type as the server reports it
    # (numerics), as in SQLAlchemy's execution: asked once, by preparing the statement.
    attributes = (await driver.prepare(compiled.string)).get_attributes()
    results = tuple(
        column[3]._cached_result_processor(dialect, attribute.type.oid)
        for column, attribute in zip(columns, attributes, strict=True)
    )
    fields = [column[0] for column in columns]
    return _Plan(
        compiled=compiled,
        sql=compiled.string,
        names=names,
        binds=tuple(processors.get(name) for name in names),
        results=tuple((i, p) for i, p in enumerate(results) if p is not None),
        row=namedtuple("Row", fields, rename=True)._make,  # type: ignore[misc]
    )


_NONE = object()  # a statement known to be left to SQLAlchemy
# The plan of a statement object seen before (the prebuilt ones: authentication, links),
# found without hashing its cache key; an entry goes with its statement.
_by_statement: WeakKeyDictionary[Any, Any] = WeakKeyDictionary()


async def _cached_plan(stmt: Executable, key: Any, dialect: Any, driver: Any) -> _Plan | None:
    known = _by_statement.get(stmt)
    if known is not None:
        return None if known is _NONE else known  # type: ignore[no-any-return]
    hashable = key.key
    plan = _plans.get(hashable, _NONE)
    if plan is _NONE:
        plan = await _plan(stmt, key, dialect, driver)
        _plans[hashable] = plan
        if len(_plans) > _CACHE_SIZE:
            _plans.popitem(last=False)
    else:
        _plans.move_to_end(hashable)
    _by_statement[stmt] = _NONE if plan is None else plan
    return plan  # type: ignore[return-value]


async def _driver(session: AsyncSession) -> tuple[AsyncConnection, Any]:
    """The unit of work's connection and its asyncpg adapter, with the transaction begun.

    Looked up once per transaction: the adapter is kept in `session.info` beside the
    transaction it belongs to.
    """
    transaction = session.sync_session.get_transaction()
    found = session.info.get(_DRIVER)
    if found is not None and transaction is not None and found[0] is transaction:
        connection, adapter = found[1], found[2]
    else:
        connection = await session.connection()
        # Checked out just now, so reading its DBAPI connection does no I/O (and needs no
        # greenlet, unlike `get_raw_connection()`).
        adapter = connection.sync_connection.connection.dbapi_connection
        session.info[_DRIVER] = (session.sync_session.get_transaction(), connection, adapter)
    if adapter._transaction is None:
        try:
            await adapter._start_transaction()
        except Exception as exc:
            await _reraise(connection, exc, "BEGIN", ())
    return connection, adapter


async def _reraise(connection: AsyncConnection, exc: Exception, sql: str, args: Any) -> NoReturn:
    """Raise `exc` as SQLAlchemy would have: translated to the dialect's DBAPI error, then
    wrapped in `DBAPIError`, invalidating the connection (and the pool) when it was lost.
    Anything else (a bug, a compile error) is raised as it is."""
    dbapi_error = connection.dialect.loaded_dbapi.Error
    if not isinstance(exc, (dbapi_error, *_DRIVER_ERRORS)):
        raise exc

    def handle(sync_connection: Any) -> None:
        error: BaseException = exc
        if not isinstance(exc, dbapi_error):  # the driver's own: translated first
            try:
                sync_connection.connection.dbapi_connection._handle_exception(exc)
            except dbapi_error as translated:
                error = translated
        sync_connection._handle_dbapi_exception(error, sql, args, None, None)

    await connection.run_sync(handle)  # raises: `_handle_dbapi_exception` never returns
    raise exc


async def read_rows(
    session: AsyncSession, stmt: Executable, params: dict[str, Any] | None = None
) -> Sequence[Any]:
    """The rows of a column select, read on the unit of work's connection and in its
    transaction; each row is a named tuple (attributes, positions and `_asdict`)."""
    connection, adapter = await _driver(session)
    key = stmt._generate_cache_key()  # type: ignore[attr-defined]
    driver = adapter.driver_connection
    try:
        plan = None if key is None else await _cached_plan(stmt, key, connection.dialect, driver)
    except Exception as exc:
        await _reraise(connection, exc, str(stmt), ())
    if plan is None:
        return (await connection.execute(stmt, params)).all()  # type: ignore[arg-type]
    values = plan.compiled.construct_params(
        params, extracted_parameters=key.bindparams, escape_names=False
    )
    args = [
        values[name] if process is None else process(values[name])
        for name, process in zip(plan.names, plan.binds, strict=True)
    ]
    sync = connection.sync_connection
    # Listeners of SQLAlchemy's cursor events (statement counts, the EXPLAIN guard, the
    # benches' capture) hear these statements as they hear any other.
    heard = sync._has_events or sync.engine._has_events
    if heard:
        sync.dispatch.before_cursor_execute(sync, None, plan.sql, tuple(args), None, False)
    try:
        records = await driver.fetch(plan.sql, *args)
    except Exception as exc:
        await _reraise(connection, exc, plan.sql, args)
    if heard:
        sync.dispatch.after_cursor_execute(sync, None, plan.sql, tuple(args), None, False)
    make = plan.row
    results = plan.results
    if not results:
        return [make(record) for record in records]
    rows = []
    for record in records:
        values = list(record)
        for i, process in results:
            values[i] = process(values[i])
        rows.append(make(values))
    return rows
