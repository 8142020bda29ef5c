"""Deliveries: created with the event, in its transaction; attempted by the worker.

`queue_deliveries` is what the event record calls for each event. Each attempt is two
short transactions around one HTTP request (`claim`, then `record`), so no row lock or
connection is held while a receiver takes its time:

- `claim` counts the attempt and signs the body, under the delivery's row lock, but only
  for the job holding the delivery's current `job_token`: a job made stale by a manual
  retry (or a finished delivery) does nothing;
- `record` keeps the answer and either finishes the delivery or schedules the next
  attempt (a new token, an arq job deferred by the retry schedule).

A worker that dies between the two leaves the delivery pending with the same token;
arq runs the job again once its lease ends, and the attempt is made again: a delivery
is sent at least once, and receivers dedupe by `webhook-id` (the event id).
"""

import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import String, Uuid, bindparam, exists, select
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks.webhooks import Webhook

from app.config import Settings
from app.core.crypto import SecretBox
from app.core.ids import new_id
from app.core.jobs import defer
from app.core.mail import queue_email
from app.core.permissions import Permission
from app.core.tenancy import in_team
from app.teams.recipients import emails_of_members_with
from app.webhooks.models import DeliveryStatus, EndpointStatus, WebhookDelivery, WebhookEndpoint
from app.webhooks.targets import Answer

DELIVER_JOB = "deliver_webhook"
# An endpoint whose every attempt failed for this long is disabled.
DISABLE_AFTER = timedelta(days=5)
ALL_TYPES = "*"


def new_token() -> str:
    return secrets.token_hex(16)


def _defer_attempt(session: AsyncSession, delivery: WebhookDelivery | Any) -> None:
    """Queue the job holding the delivery's current token, after the commit (arq refuses
    a second job with the same id while the first is queued, running or just done)."""
    now = datetime.now(UTC)
    due: datetime = delivery.next_attempt_at or now
    defer(
        session,
        DELIVER_JOB,
        str(delivery.team_id),
        str(delivery.id),
        delivery.job_token,
        _job_id=f"{DELIVER_JOB}:{delivery.id}:{delivery.job_token}",
        _defer_by=max(0.0, (due - now).total_seconds()) or None,
    )


def schedule_attempt(session: AsyncSession, delivery: WebhookDelivery, *, delay: float = 0) -> None:
    """Let one new job make the delivery's next attempt, `delay` seconds after commit."""
    delivery.job_token = new_token()
    delivery.next_attempt_at = datetime.now(UTC) + timedelta(seconds=delay)
    _defer_attempt(session, delivery)


def event_body(payload: dict[str, Any]) -> str:
    """The exact bytes sent and signed for an event: compact JSON."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str)


async def deliver_to(
    session: AsyncSession,
    endpoints: Sequence[WebhookEndpoint | Any],
    event_id: str,
    event_type: str,
    payload: dict[str, Any],
) -> list[WebhookDelivery]:
    """A pending delivery of the event to each endpoint (one per event and endpoint: an
    event queued twice is delivered once), each with its job deferred to the commit."""
    if not endpoints:
        return []
    body = event_body(payload)
    rows = [
        {
            "id": new_id(),
            "team_id": e.team_id,
            "endpoint_id": e.id,
            "event_id": event_id,
            "event_type": event_type,
            "body": body,
            "job_token": new_token(),
            "next_attempt_at": datetime.now(UTC),
        }
        for e in endpoints
    ]
    stmt = (
        insert(WebhookDelivery)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"])
        .returning(WebhookDelivery)
    )
    created = list((await session.execute(stmt)).scalars())
    for delivery in created:
        _defer_attempt(session, delivery)
    return created


async def requeue_stalled(session: AsyncSession, overdue: timedelta, limit: int = 1000) -> int:
    """Queue again the jobs of pending deliveries overdue by `overdue`: a job lost between
    a commit and its enqueue (a process that died there, Redis failing just then). A job
    that still exists is not doubled: the job id names the delivery's current token.

    Reads across teams (the cron's one statement, `docs/security.md`); each job then
    works confined to its delivery's team."""
    rows = await session.execute(
        select(
            WebhookDelivery.team_id,
            WebhookDelivery.id,
            WebhookDelivery.job_token,
            WebhookDelivery.next_attempt_at,
        )
        .where(
            WebhookDelivery.status == DeliveryStatus.pending,
            WebhookDelivery.next_attempt_at < datetime.now(UTC) - overdue,
        )
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
    )
    found = rows.all()
    for row in found:
        _defer_attempt(session, row)
    return len(found)


# Bound by `team_id` and `types` (the event's type and `*`).
_SUBSCRIBED_WHERE = (
    in_team(WebhookEndpoint, bindparam("team_id", type_=Uuid)),
    WebhookEndpoint.status == EndpointStatus.enabled,
    WebhookEndpoint.event_types.overlap(bindparam("types", type_=ARRAY(String(100)))),
)
# Built once: every recorded event asks (and most teams have no endpoint).
_SUBSCRIBED = select(WebhookEndpoint.id, WebhookEndpoint.team_id).where(*_SUBSCRIBED_WHERE)
# The question alone, for the event's own INSERT to answer in its RETURNING.
ANY_SUBSCRIBED = exists().where(*_SUBSCRIBED_WHERE)


def subscribed_params(team_id: uuid.UUID, event_type: str) -> dict[str, Any]:
    return {"team_id": team_id, "types": [event_type, ALL_TYPES]}


async def subscribed_endpoints(
    session: AsyncSession, team_id: uuid.UUID, event_type: str
) -> list[Any]:
    """(id, team_id) of each enabled endpoint of the team subscribed to the type (or `*`)."""
    found = await session.execute(_SUBSCRIBED, subscribed_params(team_id, event_type))
    return list(found.all())


async def queue_deliveries(
    session: AsyncSession,
    team_id: uuid.UUID,
    event_id: str | int | uuid.UUID,
    event_type: str,
    payload: dict[str, Any],
) -> list[WebhookDelivery]:
    """Deliver an event to each enabled endpoint of the team subscribed to its type (or
    to `*`), in the caller's transaction: the deliveries exist if and only if the event
    does. `payload` is the event as the API shows it; it is sent as is."""
    endpoints = await subscribed_endpoints(session, team_id, event_type)
    return await deliver_to(session, endpoints, str(event_id), event_type, payload)


@dataclass(frozen=True)
class Attempt:
    """What the worker needs to make one attempt, outside any transaction."""

    delivery_id: uuid.UUID
    token: str
    url: str
    body: str
    headers: dict[str, str]


def sign(box: SecretBox, endpoint: WebhookEndpoint, event_id: str, at: datetime, body: str) -> str:
    """`v1,<sig>` with the current secret, then with the previous one while it lives."""
    sealed = [endpoint.secret_sealed]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_sealed and expires is not None and expires > at:
        sealed.append(endpoint.previous_secret_sealed)
    return " ".join(Webhook(box.open(s)).sign(event_id, at, body) for s in sealed)


async def _locked(
    session: AsyncSession, team_id: uuid.UUID, delivery_id: uuid.UUID, *, endpoint: bool = False
) -> tuple[WebhookDelivery, WebhookEndpoint] | None:
    """The delivery and its endpoint, the delivery locked (and the endpoint with it when
    its failure streak may change: concurrent attempts then disable it, and email, once)."""
    row = (
        await session.execute(
            select(WebhookDelivery, WebhookEndpoint)
            .join(
                WebhookEndpoint,
                (WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                & in_team(WebhookEndpoint, WebhookDelivery.team_id),
            )
            .where(in_team(WebhookDelivery, team_id), WebhookDelivery.id == delivery_id)
            .with_for_update(of=[WebhookDelivery, WebhookEndpoint] if endpoint else WebhookDelivery)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def claim(
    session: AsyncSession, box: SecretBox, team_id: uuid.UUID, delivery_id: uuid.UUID, token: str
) -> Attempt | None:
    """Count an attempt and sign it, if this job may make it; else None."""
    found = await _locked(session, team_id, delivery_id)
    if found is None:
        return None  # the endpoint (and with it the delivery) was deleted
    delivery, endpoint = found
    if delivery.status is not DeliveryStatus.pending or delivery.job_token != token:
        return None
    now = datetime.now(UTC)
    if endpoint.status is EndpointStatus.disabled:
        delivery.status = DeliveryStatus.failed
        delivery.next_attempt_at = None
        delivery.last_error = "the endpoint is disabled"
        return None
    delivery.attempts += 1
    delivery.last_attempt_at = now
    headers = {
        "webhook-id": delivery.event_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": sign(box, endpoint, delivery.event_id, now, delivery.body),
    }
    return Attempt(delivery.id, token, endpoint.url, delivery.body, headers)


def _clean(text: str | None, limit: int) -> str | None:
    # PostgreSQL text cannot hold NUL; an answer may.
    return None if text is None else text.replace("\x00", "")[:limit]


async def record(
    session: AsyncSession,
    settings: Settings,
    team_id: uuid.UUID,
    attempt: Attempt,
    answer: Answer | None,
    error: str | None,
) -> str:
    """Keep the attempt's outcome; schedule the next attempt or finish the delivery."""
    found = await _locked(session, team_id, attempt.delivery_id, endpoint=True)
    if found is None:
        return "deleted"
    delivery, endpoint = found
    now = datetime.now(UTC)
    delivery.response_status = answer.status if answer else None
    delivery.response_body = _clean(answer.body if answer else None, 1024)
    ok = answer is not None and 200 <= answer.status < 300 and error is None
    delivery.last_error = None if ok else _clean(error or f"answered {answer.status}", 500)  # type: ignore[union-attr]
    if ok:
        delivery.status = DeliveryStatus.succeeded
        delivery.next_attempt_at = None
        endpoint.failing_since = None
        return "succeeded"
    if endpoint.failing_since is None:
        endpoint.failing_since = now
    elif (
        endpoint.status is EndpointStatus.enabled and now - endpoint.failing_since >= DISABLE_AFTER
    ):
        await _disable(session, endpoint, now)
    if delivery.job_token != attempt.token or delivery.status is not DeliveryStatus.pending:
        return "failed; superseded"  # a manual retry owns the next attempt
    delays = settings.webhook_retry_delays
    if delivery.attempts <= len(delays) and endpoint.status is EndpointStatus.enabled:
        schedule_attempt(session, delivery, delay=delays[delivery.attempts - 1])
        return "failed; retry scheduled"
    delivery.status = DeliveryStatus.failed
    delivery.next_attempt_at = None
    return "failed"


async def _disable(session: AsyncSession, endpoint: WebhookEndpoint, now: datetime) -> None:
    """Disable an endpoint that only failed for DISABLE_AFTER, and tell its managers
    (once: only the transition from enabled sends the email)."""
    endpoint.status = EndpointStatus.disabled
    endpoint.disabled_at = now
    recipients = await emails_of_members_with(session, endpoint.team_id, Permission.WEBHOOKS_MANAGE)
    if recipients:
        queue_email(
            session,
            to=recipients,
            subject="A webhook endpoint was disabled",
            text=(
                f"Every delivery to the webhook endpoint {endpoint.url} failed since "
                f"{endpoint.failing_since:%Y-%m-%d %H:%M} UTC, so it was disabled and "
                "receives no more events.\n\nEnable it again (PATCH "
                f"/v1/teams/{endpoint.team_id}/webhook-endpoints/{endpoint.id} "
                '{"status": "enabled"}) once it answers.'
            ),
        )
