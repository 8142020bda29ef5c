"""`record_event`: the one function that writes events (a transactional outbox).

An event is inserted in the transaction of the change it describes: a change that rolls
back leaves no event, a change that commits always has one.

Ids and gap-free reading. Sequence values are handed out before commit and commits land
out of order, so "every event with an id below the last one read" is not a safe resume
point, and neither is a sequence id filtered by transaction ids (a transaction that got
its transaction id first may draw the larger sequence value). An event's id is therefore
made of its transaction's id: `pg_current_xact_id() * 2**20 + n`, `n` counting the
transaction's events from 1. A reader shows only events whose transaction is older than
every transaction still in flight (`id < pg_snapshot_xmin(pg_current_snapshot()) *
2**20`). A transaction that commits after a reader's snapshot was in flight then (or had
no id yet), so its transaction id is at least that snapshot's xmin, and its events' ids
lie above every id that reader was shown: resuming after the last id misses nothing.
"""

import uuid
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Table,
    Text,
    bindparam,
    cast,
    func,
    insert,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.context import TeamContext
from app.core.notices import events_committed
from app.events.models import Event
from app.events.schemas import ActorOut, EventOut
from app.webhooks.deliveries import (
    ANY_SUBSCRIBED,
    deliver_to,
    subscribed_endpoints,
    subscribed_params,
)

# Ordinals per transaction: an event id is `transaction id * PER_TRANSACTION + n`.
PER_TRANSACTION = 2**20
_ORDINAL = "app.event_ordinal"
_ACTOR = "hourline_event_actor"

ActorType = Literal["user", "api_key", "contact", "system"]


@dataclass(frozen=True)
class Actor:
    type: ActorType
    id: uuid.UUID | None = None


SYSTEM = Actor("system")


def act_as(session: AsyncSession, ctx: TeamContext) -> None:
    """Name the caller of a request as the actor of the events its transaction records.

    Called once the caller is known (`app.auth.dependencies`); a job's unit of work never
    names one, so its events are the `system`'s.
    """
    caller = ctx.caller
    if caller.kind == "api_key" and caller.api_key_id is not None:
        session.info[_ACTOR] = Actor("api_key", caller.api_key_id)
    else:
        session.info[_ACTOR] = Actor("user", caller.user_id)


def act_as_contact(session: AsyncSession, contact_id: uuid.UUID) -> None:
    """Name a client contact (a portal session) as the actor of the transaction's events."""
    session.info[_ACTOR] = Actor("contact", contact_id)


def act_as_system(session: AsyncSession) -> None:
    """Record the rest of this transaction's events as the `system`'s."""
    session.info[_ACTOR] = SYSTEM


def actor_of(session: AsyncSession) -> Actor:
    actor: Actor = session.info.get(_ACTOR, SYSTEM)
    return actor


def _next_id() -> ColumnElement[int]:
    """This transaction's id times PER_TRANSACTION plus the next ordinal (from 1), the
    ordinal kept in a transaction-local setting (a rolled-back savepoint rolls it back
    with its events)."""
    previous = cast(
        func.coalesce(func.nullif(func.current_setting(_ORDINAL, True), ""), "0"), Integer
    )
    ordinal = func.set_config(_ORDINAL, cast(previous + 1, Text), True)
    xact = cast(cast(func.pg_current_xact_id(), Text), BigInteger)
    return xact * PER_TRANSACTION + cast(ordinal, BigInteger)


# Built once: every change runs it. Core, not the ORM's bulk insert: rows need no identity.
_COLUMNS = (
    "team_id",
    "type",
    "object_type",
    "object_id",
    "user_id",
    "client_id",
    "project_id",
    "actor_type",
    "actor_id",
    "data",
)
_TABLE: Table = Event.__table__  # type: ignore[assignment]
_INSERT = (
    insert(_TABLE)
    .values(id=_next_id(), **{name: bindparam(name) for name in _COLUMNS})
    # Whether a webhook endpoint wants it, answered by the same round trip.
    .returning(_TABLE.c.id, _TABLE.c.created_at, ANY_SUBSCRIBED.label("subscribed"))
)


def visible_below() -> ColumnElement[int]:
    """Ids below this are of transactions older than every one still in flight."""
    xmin = func.pg_snapshot_xmin(func.pg_current_snapshot())
    return cast(cast(xmin, Text), BigInteger) * PER_TRANSACTION


def _payload(data: BaseModel | dict[str, Any]) -> dict[str, Any]:
    if isinstance(data, BaseModel):
        return data.model_dump(mode="json")
    return {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in data.items()}


async def record_event(
    session: AsyncSession,
    team_id: uuid.UUID,
    event_type: str,
    data: BaseModel | dict[str, Any],
    *,
    object_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    client_id: uuid.UUID | None = None,
    project_id: uuid.UUID | None = None,
) -> None:
    """Record `event_type` (`<object>.<verb>`) with `data`, the object as the API returns
    it (full: what a role may not read is removed when the event is read), or `{id}` for
    a deletion. The ids say whose it is, for the role table's reaches at read time."""
    payload = _payload(data)
    if object_id is None and payload.get("id") is not None:
        object_id = uuid.UUID(str(payload["id"]))
    actor = actor_of(session)
    recorded = await session.execute(
        _INSERT,
        {
            "team_id": team_id,
            "type": event_type,
            "object_type": event_type.split(".", 1)[0],
            "object_id": object_id,
            "user_id": user_id,
            "client_id": client_id,
            "project_id": project_id,
            "actor_type": actor.type,
            "actor_id": actor.id,
            "data": payload,
            **subscribed_params(team_id, event_type),
        },
    )
    event_id, created_at, subscribed = recorded.one()
    # The streams of this team wake once the transaction commits (the last id wins).
    events_committed(session, team_id, event_id)
    # Outgoing webhooks: a delivery per subscribed endpoint, in this same transaction.
    endpoints = await subscribed_endpoints(session, team_id, event_type) if subscribed else []
    if endpoints:
        event = EventOut(
            id=event_id,
            type=event_type,
            created_at=created_at,
            actor=ActorOut(type=actor.type, id=actor.id),
            data=payload,
        )
        await deliver_to(
            session, endpoints, str(event_id), event_type, event.model_dump(mode="json")
        )
