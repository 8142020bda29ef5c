"""Deliveries of events to endpoints: created in the event's transaction, signed per
Standard Webhooks (checked with the `standardwebhooks` package's own verifier), retried
on the schedule, logged, retried by hand, refused by the SSRF rules at delivery, and
disabling an endpoint after five days of failures. Events are synthetic: the deliveries
are queued by calling `queue_deliveries` as the event record will."""

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from app.core.db import unit_of_work
from app.core.permissions import Role
from app.webhooks import targets
from app.webhooks.deliveries import queue_deliveries
from app.webhooks.jobs import purge_old_deliveries, requeue_stalled_deliveries
from tests.factories import make_actor
from tests.factories.webhooks import (
    Receiver,
    add_endpoint,
    deliveries_of,
    receiving,
    self_signed,
)


@pytest.fixture
def private_targets(settings) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Local receivers allowed; the retry schedule compressed to fractions of a second."""
    before = (settings.webhook_allow_private_targets, settings.webhook_retry_schedule)
    settings.webhook_allow_private_targets = True
    settings.webhook_retry_schedule = "0.2,0.2,0.2"
    yield
    settings.webhook_allow_private_targets, settings.webhook_retry_schedule = before


async def emit(app, team_id, event_type: str = "invoice.paid", event_id: str | None = None):  # type: ignore[no-untyped-def]
    """A synthetic event, queued as the event record will: in a team transaction."""
    event_id = event_id or str(uuid.uuid4())
    payload = {
        "id": event_id,
        "type": event_type,
        "created_at": "2026-12-02T01:00:00+00:00",
        "actor": {"type": "system", "id": None},
        "data": {"id": "inv_1", "note": "café"},
    }
    async with unit_of_work(app.state.db, app.state.redis, team_id=team_id) as session:
        made = await queue_deliveries(session, team_id, event_id, event_type, payload)
    return event_id, made


def verified(receiver: Receiver, secret: str) -> list[dict]:
    """Every request the receiver got, verified with the standardwebhooks verifier."""
    return [Webhook(secret).verify(r.body, r.headers) for r in receiver.requests]


async def _db(app, sql: str, **params):  # type: ignore[no-untyped-def]
    async with app.state.db.engine.begin() as conn:
        result = await conn.execute(text(sql), params)
        return result.all() if result.returns_rows else []


async def test_deliveries_go_to_subscribed_enabled_endpoints_in_the_callers_transaction(
    client, app
):
    owner = await make_actor(app)
    paid = await add_endpoint(client, owner, event_types=["invoice.paid"])
    every = await add_endpoint(client, owner, event_types=["*"])
    await add_endpoint(client, owner, event_types=["client.created"])
    off = await add_endpoint(client, owner, event_types=["invoice.paid"])
    r = await client.patch(
        owner.url(f"/webhook-endpoints/{off['id']}"),
        json={"status": "disabled"},
        headers=owner.headers,
    )
    assert r.status_code == 200
    other_team = await make_actor(app)
    await add_endpoint(client, other_team, event_types=["*"])

    event_id, made = await emit(app, owner.team_id)
    assert {d.endpoint_id for d in made} == {uuid.UUID(paid["id"]), uuid.UUID(every["id"])}
    # The same event queued again adds nothing.
    _, again = await emit(app, owner.team_id, event_id=event_id)
    assert again == []
    # A transaction that rolls back leaves no delivery and queues no job.
    with pytest.raises(RuntimeError):
        async with unit_of_work(app.state.db, app.state.redis, team_id=owner.team_id) as s:
            await queue_deliveries(s, owner.team_id, "rolled-back", "invoice.paid", {})
            raise RuntimeError
    rows = await _db(app, "SELECT event_id, status FROM webhook_delivery ORDER BY event_id")
    assert rows == [(event_id, "pending"), (event_id, "pending")]
    assert await app.state.redis.zcard("arq:queue") == 2


async def test_a_delivery_is_signed_and_verifies(client, app, run_jobs, private_targets):
    owner = await make_actor(app)
    async with receiving((200, "x" * 5000)) as receiver:
        endpoint = await add_endpoint(client, owner, url=receiver.url)
        event_id, _ = await emit(app, owner.team_id)
        await run_jobs()
    (payload,) = verified(receiver, endpoint["secret"])
    assert payload["id"] == event_id and payload["data"]["note"] == "café"
    (request,) = receiver.requests
    assert request.headers["webhook-id"] == event_id
    assert request.headers["webhook-signature"].startswith("v1,")
    assert request.headers["host"] == f"127.0.0.1:{receiver.port}"
    assert request.headers["content-type"] == "application/json"
    with pytest.raises(WebhookVerificationError):  # another secret does not verify
        Webhook("whsec_" + "A" * 32).verify(request.body, request.headers)
    (delivery,) = await deliveries_of(client, owner, endpoint["id"])
    assert delivery["status"] == "succeeded" and delivery["attempts"] == 1
    assert delivery["response_status"] == 200 and delivery["response_body"] == "x" * 1024
    assert delivery["event_id"] == event_id and delivery["event_type"] == "invoice.paid"
    assert delivery["next_attempt_at"] is None


async def test_failure_then_success_sends_the_same_webhook_id_twice(
    client, app, run_jobs, private_targets
):
    owner = await make_actor(app)
    async with receiving((500, "down"), (204, "")) as receiver:
        endpoint = await add_endpoint(client, owner, url=receiver.url)
        event_id, _ = await emit(app, owner.team_id)
        await run_jobs()  # the burst worker waits for the deferred retry too
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == event_id
    assert first.body == second.body
    assert len(verified(receiver, endpoint["secret"])) == 2
    (delivery,) = await deliveries_of(client, owner, endpoint["id"])
    assert delivery["status"] == "succeeded" and delivery["attempts"] == 2
    assert delivery["response_status"] == 204 and delivery["last_error"] is None


async def test_retries_follow_the_schedule_then_fail_and_a_manual_retry_sends_again(
    client, app, run_jobs, private_targets
):
    owner = await make_actor(app)
    async with receiving(
        (503, "busy"), (503, "busy"), (503, "busy"), (503, "busy"), (200, "ok")
    ) as receiver:
        endpoint = await add_endpoint(client, owner, url=receiver.url)
        await emit(app, owner.team_id)
        await run_jobs()
        assert len(receiver.requests) == 4  # the first attempt and the three retries
        (delivery,) = await deliveries_of(client, owner, endpoint["id"])
        assert delivery["status"] == "failed" and delivery["attempts"] == 4
        assert delivery["response_status"] == 503 and delivery["last_error"] == "answered 503"
        r = await client.post(
            owner.url(f"/webhook-endpoints/{endpoint['id']}/deliveries/{delivery['id']}/retry"),
            headers=owner.headers,
        )
        assert r.status_code == 202, r.text
        assert r.json()["status"] == "pending"
        await run_jobs()
    assert len(receiver.requests) == 5
    (delivery,) = await deliveries_of(client, owner, endpoint["id"])
    assert delivery["status"] == "succeeded" and delivery["attempts"] == 5


async def test_redirects_are_not_followed(client, app, run_jobs, private_targets, settings):
    settings.webhook_retry_schedule = ""
    owner = await make_actor(app)
    async with receiving((302, "")) as receiver:
        endpoint = await add_endpoint(client, owner, url=receiver.url)
        await emit(app, owner.team_id)
        await run_jobs()
    assert len(receiver.requests) == 1
    (delivery,) = await deliveries_of(client, owner, endpoint["id"])
    assert delivery["status"] == "failed" and delivery["response_status"] == 302


async def test_after_rotation_both_secrets_verify(client, app, run_jobs, private_targets):
    owner = await make_actor(app)
    async with receiving() as receiver:
        endpoint = await add_endpoint(client, owner, url=receiver.url)
        r = await client.post(
            owner.url(f"/webhook-endpoints/{endpoint['id']}/rotate-secret"), headers=owner.headers
        )
        new = r.json()["secret"]
        await emit(app, owner.team_id)
        await run_jobs()
    (request,) = receiver.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert verified(receiver, new) == verified(receiver, endpoint["secret"])
    # Once the 24 hours are over, only the new secret signs.
    await _db(app, "UPDATE webhook_endpoint SET previous_secret_expires_at = now()")
    async with receiving() as receiver:
        await _db(app, "UPDATE webhook_endpoint SET url = :u", u=receiver.url)
        await emit(app, owner.team_id)
        await run_jobs()
    verified(receiver, new)
    with pytest.raises(WebhookVerificationError):
        verified(receiver, endpoint["secret"])


async def test_ping_reaches_an_endpoint_of_other_types(client, app, run_jobs, private_targets):
    owner = await make_actor(app)
    async with receiving() as receiver:
        endpoint = await add_endpoint(client, owner, url=receiver.url, event_types=["task.created"])
        r = await client.post(
            owner.url(f"/webhook-endpoints/{endpoint['id']}/ping"), headers=owner.headers
        )
        assert r.status_code == 202, r.text
        assert r.json()["event_type"] == "ping" and r.json()["status"] == "pending"
        await run_jobs()
    (payload,) = verified(receiver, endpoint["secret"])
    assert payload["type"] == "ping" and payload["id"] == r.json()["event_id"]
    assert payload["actor"] == {"type": "user", "id": str(owner.user_id)}


async def test_a_private_address_is_refused_at_delivery(
    client, app, run_jobs, private_targets, settings
):
    owner = await make_actor(app)
    settings.webhook_retry_schedule = ""
    async with receiving() as receiver:
        endpoint = await add_endpoint(client, owner, url=receiver.url)
        settings.webhook_allow_private_targets = False
        await emit(app, owner.team_id)
        await run_jobs()
    assert receiver.requests == []
    (delivery,) = await deliveries_of(client, owner, endpoint["id"])
    assert delivery["status"] == "failed" and delivery["attempts"] == 1
    assert "loopback" in delivery["last_error"] and delivery["response_status"] is None


async def test_the_checked_address_is_the_one_connected(
    client, app, run_jobs, private_targets, monkeypatch
):
    """DNS rebinding: the name is resolved once, by the check; the connection goes to that
    address with the name as Host (the system resolver does not know the name at all)."""
    owner = await make_actor(app)
    calls = []

    async def lookup(host: str, port: int):  # type: ignore[no-untyped-def]
        calls.append(host)
        return [targets.ipaddress.ip_address("127.0.0.1")]

    monkeypatch.setattr(targets, "lookup", lookup)
    async with receiving() as receiver:
        url = f"http://hooks.rebind.invalid:{receiver.port}/in"
        endpoint = await add_endpoint(client, owner, url=url)
        await emit(app, owner.team_id)
        await run_jobs()
    (request,) = receiver.requests
    assert request.headers["host"] == f"hooks.rebind.invalid:{receiver.port}"
    assert request.path == "/in"
    assert calls == ["hooks.rebind.invalid", "hooks.rebind.invalid"]  # creation, delivery
    (delivery,) = await deliveries_of(client, owner, endpoint["id"])
    assert delivery["status"] == "succeeded"


async def test_five_days_of_failures_disable_the_endpoint_and_tell_the_managers_once(
    client, app, run_jobs, private_targets, settings, mailbox
):
    settings.webhook_retry_schedule = ""
    owner = await make_actor(app)
    manager = await make_actor(app, team_id=owner.team_id, role=Role.org_manager)
    await make_actor(app, team_id=owner.team_id, role=Role.member)
    async with receiving((500, "no")) as receiver:
        endpoint = await add_endpoint(client, owner, url=receiver.url)
        await emit(app, owner.team_id)
        await run_jobs()
        r = await client.get(
            owner.url(f"/webhook-endpoints/{endpoint['id']}"), headers=owner.headers
        )
        assert r.json()["status"] == "enabled"  # one day of failures is not five
        await _db(
            app, "UPDATE webhook_endpoint SET failing_since = now() - interval '5 days 1 minute'"
        )
        await emit(app, owner.team_id)
        await emit(app, owner.team_id)
        await run_jobs()
    assert len(receiver.requests) == 3
    r = await client.get(owner.url(f"/webhook-endpoints/{endpoint['id']}"), headers=owner.headers)
    assert r.json()["status"] == "disabled" and r.json()["disabled_at"]
    await run_jobs()  # the email
    mails = [m for m in mailbox.messages if "disabled" in m["Subject"]]
    assert len(mails) == 1
    assert sorted(mails[0]["To"].split(", ")) == sorted([owner.email, manager.email])
    # Disabled: new events are not delivered to it, and a retry is refused.
    _, made = await emit(app, owner.team_id)
    assert made == []
    (last, *_) = await deliveries_of(client, owner, endpoint["id"])
    r = await client.post(
        owner.url(f"/webhook-endpoints/{endpoint['id']}/deliveries/{last['id']}/retry"),
        headers=owner.headers,
    )
    assert r.status_code == 409 and r.json()["code"] == "webhook_endpoint_disabled"
    # Enabled again, the endpoint starts its five days anew.
    r = await client.patch(
        owner.url(f"/webhook-endpoints/{endpoint['id']}"),
        json={"status": "enabled"},
        headers=owner.headers,
    )
    assert r.json()["status"] == "enabled"
    assert await _db(app, "SELECT failing_since FROM webhook_endpoint") == [(None,)]


async def test_a_success_clears_the_failing_streak(
    client, app, run_jobs, private_targets, settings
):
    settings.webhook_retry_schedule = ""
    owner = await make_actor(app)
    async with receiving((500, "no"), (200, "ok")) as receiver:
        await add_endpoint(client, owner, url=receiver.url)
        await emit(app, owner.team_id)
        await run_jobs()
        assert (await _db(app, "SELECT failing_since IS NOT NULL FROM webhook_endpoint")) == [
            (True,)
        ]
        await emit(app, owner.team_id)
        await run_jobs()
    assert await _db(app, "SELECT failing_since FROM webhook_endpoint") == [(None,)]


async def test_a_lost_job_is_queued_again_by_the_sweep(client, app, run_jobs, private_targets):
    """A delivery committed whose job never reached the queue (the process died between
    the commit and the enqueue) is sent once the cron finds it overdue; one whose job is
    still queued is not doubled."""
    owner = await make_actor(app)
    ctx = {"db": app.state.db, "redis": app.state.redis}
    async with receiving() as receiver:
        endpoint = await add_endpoint(client, owner, url=receiver.url)
        event_id, _ = await emit(app, owner.team_id)
        await _db(app, "UPDATE webhook_delivery SET next_attempt_at = now() - interval '1 hour'")
        assert await requeue_stalled_deliveries(ctx) == 1
        assert await app.state.redis.zcard("arq:queue") == 1  # its job is still there
        await app.state.redis.flushdb()  # the job lost
        assert await requeue_stalled_deliveries(ctx) == 1
        assert await app.state.redis.zcard("arq:queue") == 1
        await run_jobs()
        assert await requeue_stalled_deliveries(ctx) == 0  # delivered: nothing pending
    (request,) = receiver.requests
    assert request.headers["webhook-id"] == event_id
    (delivery,) = await deliveries_of(client, owner, endpoint["id"])
    assert delivery["status"] == "succeeded" and delivery["attempts"] == 1


def pin_tls_to_localhost(monkeypatch, tmp_path, *, certificate_for: str):  # type: ignore[no-untyped-def]
    """Every host resolves to 127.0.0.1, whose receiver serves a self-signed certificate
    for `certificate_for` that the sender trusts; returns the receiver's TLS context."""
    server_tls, client_tls = self_signed(certificate_for, tmp_path)

    async def lookup(host: str, port: int):  # type: ignore[no-untyped-def]
        return [targets.ipaddress.ip_address("127.0.0.1")]

    monkeypatch.setattr(targets, "lookup", lookup)
    monkeypatch.setattr(targets, "tls_verification", lambda: client_tls)
    return server_tls


async def test_https_goes_to_the_checked_address_with_the_name_for_sni_and_certificate(
    client, app, run_jobs, private_targets, monkeypatch, tmp_path
):
    """TLS to the pinned IP still names the host: SNI carries it, and the certificate is
    checked against it (the certificate is for the name only, not for 127.0.0.1)."""
    owner = await make_actor(app)
    server_tls = pin_tls_to_localhost(monkeypatch, tmp_path, certificate_for="hooks.example")
    async with receiving(tls=server_tls) as receiver:
        endpoint = await add_endpoint(
            client, owner, url=f"https://hooks.example:{receiver.port}/in"
        )
        await emit(app, owner.team_id)
        await run_jobs()
    assert receiver.server_names == ["hooks.example"]
    assert len(verified(receiver, endpoint["secret"])) == 1
    (delivery,) = await deliveries_of(client, owner, endpoint["id"])
    assert delivery["status"] == "succeeded"


async def test_a_certificate_for_another_name_fails_the_attempt(
    client, app, run_jobs, private_targets, monkeypatch, tmp_path, settings
):
    settings.webhook_retry_schedule = ""
    owner = await make_actor(app)
    server_tls = pin_tls_to_localhost(monkeypatch, tmp_path, certificate_for="other.example")
    async with receiving(tls=server_tls) as receiver:
        endpoint = await add_endpoint(
            client, owner, url=f"https://hooks.example:{receiver.port}/in"
        )
        await emit(app, owner.team_id)
        await run_jobs()
    assert receiver.requests == []
    (delivery,) = await deliveries_of(client, owner, endpoint["id"])
    assert delivery["status"] == "failed"
    assert "CERTIFICATE_VERIFY_FAILED" in delivery["last_error"], delivery["last_error"]
    assert "hooks.example" in delivery["last_error"], delivery["last_error"]


async def test_a_receiver_slower_than_the_timeout_fails_the_attempt(
    client, app, run_jobs, private_targets, settings
):
    settings.webhook_retry_schedule = ""
    settings.webhook_timeout_seconds = 0.5
    owner = await make_actor(app)
    try:
        async with receiving() as receiver:
            receiver.release.clear()  # never answers in time
            endpoint = await add_endpoint(client, owner, url=receiver.url)
            await emit(app, owner.team_id)
            await run_jobs()
            receiver.release.set()
    finally:
        settings.webhook_timeout_seconds = 10
    assert len(receiver.requests) == 1
    (delivery,) = await deliveries_of(client, owner, endpoint["id"])
    assert delivery["status"] == "failed"
    assert delivery["last_error"] == "no answer within 0.5 s"


async def test_a_recorded_event_is_delivered_as_the_events_list_shows_it(
    client, app, run_jobs, private_targets
):
    """The event record queues the deliveries: a change made through the API reaches a
    subscribed endpoint, signed, with the event's id and the body the events list shows."""
    owner = await make_actor(app)
    async with receiving((200, "ok")) as receiver:
        endpoint = await add_endpoint(
            client, owner, url=receiver.url, event_types=["client.created"]
        )
        made = await client.post(
            owner.url("/clients"), json={"name": "Hooked", "currency": "EUR"}, headers=owner.headers
        )
        assert made.status_code == 201, made.text
        await run_jobs()
    (payload,) = verified(receiver, endpoint["secret"])
    events = await client.get(owner.url("/events?types=client.created"), headers=owner.headers)
    (listed,) = events.json()["data"]
    assert payload == listed
    assert payload["data"]["name"] == "Hooked" and payload["actor"]["id"] == str(owner.user_id)
    assert receiver.requests[0].headers["webhook-id"] == str(listed["id"])


async def test_finished_deliveries_are_purged_with_their_events_pending_ones_stay(
    client, app, monkeypatch
):
    owner = await make_actor(app)
    await add_endpoint(client, owner)
    made = {}
    for name in ("old_ok", "old_failed", "old_pending", "new_ok"):
        _, (delivery,) = await emit(app, owner.team_id)
        made[name] = str(delivery.id)
    status = {"old_ok": "succeeded", "old_failed": "failed", "new_ok": "succeeded"}
    for name, value in status.items():
        await _db(
            app, "UPDATE webhook_delivery SET status = :s WHERE id = :i", s=value, i=made[name]
        )
    for name in ("old_ok", "old_failed", "old_pending"):
        await _db(
            app,
            "UPDATE webhook_delivery SET created_at = now() - interval '31 days' WHERE id = :i",
            i=made[name],
        )
    monkeypatch.setattr("app.webhooks.jobs.PURGE_BATCH", 1)  # several batches
    assert await purge_old_deliveries({"db": app.state.db, "redis": app.state.redis}) == 2
    left = {str(r[0]) for r in await _db(app, "SELECT id FROM webhook_delivery")}
    assert left == {made["old_pending"], made["new_ok"]}
