"""Signing in to the client portal: login links (single use, 30 minutes, no address
enumeration, rate limits), sessions (lifetime, logout), token kinds kept apart, and every
way of ending a contact's access signing it out at once."""

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import time_machine
from sqlalchemy import select, text

from app.auth import service as auth_service
from app.clients.models import Client
from app.core.db import unit_of_work
from app.portal import service as portal_service
from tests.factories.accounts import make_actor
from tests.factories.clients import new_client, new_client_project
from tests.factories.contacts import new_contact
from tests.factories.portal import (
    grant_portal,
    link_tokens,
    portal_contact,
    redeem,
    request_links,
    sign_in,
)
from tests.factories.projects import new_project
from tests.factories.teams import create_api_key
from tests.helpers import assert_problem, bearer

ME = "/v1/portal/me"


async def test_onboarding_link_signs_in_and_shows_the_project(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    client_id, project_id = await new_client_project(
        client, owner, "Acme", contacts=[("Ann", "ann@example.com")]
    )
    await run_jobs()
    (token,) = link_tokens(mailbox, "ann@example.com")
    assert "expires in 30 minutes" in mailbox.messages[0].get_body().get_content()

    r = await redeem(client, token)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["access_token"].startswith("hlp_")
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 12 * 3600
    assert body["contact"]["email"] == "ann@example.com"
    assert set(body["contact"]) == {"id", "name", "email", "phone", "title"}

    me = await client.get(ME, headers=bearer(body["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json()["client"] == {"id": client_id, "name": "Acme", "currency": "EUR"}
    assert me.json()["contact"]["id"] == body["contact"]["id"]
    assert me.json()["team"]["timezone"] == "UTC"

    projects = await client.get("/v1/portal/projects", headers=bearer(body["access_token"]))
    assert [p["id"] for p in projects.json()["data"]] == [project_id]


async def test_a_link_works_once_even_when_raced(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    acme = await new_client(client, owner)
    await portal_contact(client, owner, acme["id"], "ann@example.com")
    await run_jobs()
    (token,) = link_tokens(mailbox)

    first, second = await asyncio.gather(redeem(client, token), redeem(client, token))
    assert sorted([first.status_code, second.status_code]) == [201, 401]
    loser = first if first.status_code == 401 else second
    assert_problem(loser, 401, "invalid_portal_token")
    assert_problem(await redeem(client, token), 401, "invalid_portal_token")
    assert_problem(await redeem(client, "not-a-token"), 401, "invalid_portal_token")
    async with app.state.db.engine.connect() as conn:
        sessions = await conn.scalar(text("SELECT count(*) FROM portal_session"))
    assert sessions == 1


async def test_links_expire_after_30_minutes(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    acme = await new_client(client, owner)
    ann = await portal_contact(client, owner, acme["id"], "ann@example.com")
    await grant_portal(client, owner, ann["id"])  # a second link
    await run_jobs()
    early, late = link_tokens(mailbox)
    now = datetime.now(UTC)
    with time_machine.travel(now + timedelta(minutes=29), tick=False):
        assert (await redeem(client, early)).status_code == 201
    with time_machine.travel(now + timedelta(minutes=31), tick=False):
        assert_problem(await redeem(client, late), 401, "invalid_portal_token")


async def test_sessions_last_12_hours_and_end_at_logout(
    client, app, mailbox, run_jobs, settings, monkeypatch
):
    owner = await make_actor(app)
    acme = await new_client(client, owner)
    ann = await portal_contact(client, owner, acme["id"], "ann@example.com")
    user = await sign_in(client, mailbox, run_jobs, ann)
    now = datetime.now(UTC)
    with time_machine.travel(now + timedelta(hours=11, minutes=59), tick=False):
        assert (await client.get(ME, headers=user.headers)).status_code == 200
    with time_machine.travel(now + timedelta(hours=12, seconds=1), tick=False):
        assert_problem(await client.get(ME, headers=user.headers), 401, "invalid_portal_session")

    monkeypatch.setattr(settings, "portal_session_hours", 1)
    await grant_portal(client, owner, ann["id"])
    await run_jobs()
    r = await redeem(client, link_tokens(mailbox)[-1])
    assert r.json()["expires_in"] == 3600, "PORTAL_SESSION_HOURS"
    await grant_portal(client, owner, ann["id"])
    other = await sign_in(client, mailbox, run_jobs, ann)
    r = await client.post("/v1/portal/logout", headers=other.headers)
    assert r.status_code == 204, r.text
    assert_problem(await client.get(ME, headers=other.headers), 401, "invalid_portal_session")
    assert_problem(await client.post("/v1/portal/logout", headers=other.headers), 401)


async def test_portal_and_team_tokens_are_refused_on_each_others_paths(
    client, app, mailbox, run_jobs
):
    owner = await make_actor(app)
    acme = await new_client(client, owner)
    ann = await portal_contact(client, owner, acme["id"], "ann@example.com")
    user = await sign_in(client, mailbox, run_jobs, ann)
    key = (await create_api_key(client, owner, role="org_manager"))["key"]

    for path in (owner.url("/clients"), owner.url(f"/contacts/{ann['id']}"), "/v1/me"):
        assert_problem(await client.get(path, headers=user.headers), 401)
    for token in (owner.access_token, key, owner.refresh_token, "hlp_forged"):
        for path in (ME, "/v1/portal/projects", "/v1/portal/invoices"):
            assert_problem(
                await client.get(path, headers=bearer(token)), 401, "invalid_portal_session"
            )
    assert_problem(await client.get(ME), 401, "not_authenticated")
    # Both still work where they belong.
    assert (await client.get(ME, headers=user.headers)).status_code == 200
    assert (await client.get(owner.url("/clients"), headers=owner.headers)).status_code == 200


async def _signed_in(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    acme = await new_client(client, owner)
    project = await new_project(client, owner, client_id=acme["id"])
    ann = await portal_contact(client, owner, acme["id"], "ann@example.com", views=(project["id"],))
    user = await sign_in(client, mailbox, run_jobs, ann)
    assert (await client.get(ME, headers=user.headers)).status_code == 200
    return owner, acme, ann, user


async def test_revoking_portal_access_signs_out_and_voids_links(client, app, mailbox, run_jobs):
    owner, _, ann, user = await _signed_in(client, app, mailbox, run_jobs)
    await grant_portal(client, owner, ann["id"])  # a link not used yet
    await run_jobs()
    pending = link_tokens(mailbox)[-1]
    r = await client.delete(
        owner.url(f"/contacts/{ann['id']}/portal-access"), headers=owner.headers
    )
    assert r.status_code == 204, r.text
    assert_problem(await client.get(ME, headers=user.headers), 401, "invalid_portal_session")
    assert_problem(await redeem(client, pending), 401, "invalid_portal_token")
    # Granting again does not bring the old session back.
    await grant_portal(client, owner, ann["id"])
    assert_problem(await client.get(ME, headers=user.headers), 401, "invalid_portal_session")


async def test_archiving_the_client_signs_its_contacts_out(client, app, mailbox, run_jobs):
    owner, acme, ann, user = await _signed_in(client, app, mailbox, run_jobs)
    await grant_portal(client, owner, ann["id"])  # a link not used yet
    await run_jobs()
    pending = link_tokens(mailbox)[-1]
    r = await client.delete(owner.url(f"/clients/{acme['id']}"), headers=owner.headers)
    assert r.status_code == 204, r.text
    assert_problem(await client.get(ME, headers=user.headers), 401, "invalid_portal_session")
    assert_problem(await redeem(client, pending), 401, "invalid_portal_token")
    # An archived client's contact gets no new link either.
    assert (await request_links(client, ann["email"])).status_code == 202
    mailbox.messages.clear()
    await run_jobs()
    assert mailbox.messages == []
    # Restoring the client does not bring the session back.
    r = await client.patch(
        owner.url(f"/clients/{acme['id']}"), json={"status": "active"}, headers=owner.headers
    )
    assert r.status_code == 200, r.text
    assert_problem(await client.get(ME, headers=user.headers), 401, "invalid_portal_session")


async def test_deleting_the_contact_signs_it_out(client, app, mailbox, run_jobs):
    owner, _, ann, user = await _signed_in(client, app, mailbox, run_jobs)
    r = await client.delete(owner.url(f"/contacts/{ann['id']}"), headers=owner.headers)
    assert r.status_code == 204, r.text
    assert_problem(await client.get(ME, headers=user.headers), 401, "invalid_portal_session")


async def test_moving_the_contact_to_another_client_signs_it_out(client, app, mailbox, run_jobs):
    owner, _, ann, user = await _signed_in(client, app, mailbox, run_jobs)
    globex = await new_client(client, owner, "Globex")
    r = await client.patch(
        owner.url(f"/contacts/{ann['id']}"), json={"client_id": globex["id"]}, headers=owner.headers
    )
    assert r.status_code == 200, r.text
    assert_problem(await client.get(ME, headers=user.headers), 401, "invalid_portal_session")
    # A new sign-in sees the new client, and none of the old one's projects.
    assert (await request_links(client, ann["email"])).status_code == 202
    again = await sign_in(client, mailbox, run_jobs, {**ann, "client_id": globex["id"]})
    me = await client.get(ME, headers=again.headers)
    assert me.json()["client"]["id"] == globex["id"]
    projects = await client.get("/v1/portal/projects", headers=again.headers)
    assert projects.json()["data"] == []


async def test_login_links_do_not_tell_known_from_unknown_addresses(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    acme = await new_client(client, owner)
    await portal_contact(client, owner, acme["id"], "ann@example.com")
    await new_contact(client, owner, "No access", email="bob@example.com", client_id=acme["id"])
    await run_jobs()
    mailbox.messages.clear()

    known = await request_links(client, "Ann@Example.com")
    unknown = await request_links(client, "nobody@example.com")
    no_access = await request_links(client, "bob@example.com")
    assert known.status_code == unknown.status_code == no_access.status_code == 202
    assert known.content == unknown.content == no_access.content
    assert known.headers["content-type"] == unknown.headers["content-type"]
    assert mailbox.messages == [], "the email is sent by a job, not in the request"
    await run_jobs()
    assert [str(m["To"]) for m in mailbox.messages] == ["ann@example.com"]
    (token,) = link_tokens(mailbox)
    assert (await redeem(client, token)).status_code == 201


async def test_one_link_per_contact_across_teams(client, app, mailbox, run_jobs):
    # An address is one contact per team (unique), so a person is one contact per team.
    agency = await make_actor(app)
    second = await make_actor(app)
    other_agency = await make_actor(app)
    acme = await new_client(client, agency, "Acme")
    globex = await new_client(client, second, "Globex")
    initech = await new_client(client, other_agency, "Initech")
    contacts = [
        await portal_contact(client, agency, acme["id"], "ann@example.com"),
        await portal_contact(client, second, globex["id"], "ann@example.com".upper()),
        await portal_contact(client, other_agency, initech["id"], "ann@example.com"),
    ]
    await run_jobs()
    mailbox.messages.clear()
    assert (await request_links(client, "ann@example.com")).status_code == 202
    await run_jobs()
    tokens = link_tokens(mailbox)
    assert len(tokens) == 3
    seen = set()
    for token in tokens:
        r = await redeem(client, token)
        assert r.status_code == 201, r.text
        me = (await client.get(ME, headers=bearer(r.json()["access_token"]))).json()
        seen.add((me["contact"]["id"], me["client"]["name"]))
    assert seen == {
        (contacts[0]["id"], "Acme"),
        (contacts[1]["id"], "Globex"),
        (contacts[2]["id"], "Initech"),
    }


async def test_login_links_are_rate_limited_silently(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    acme = await new_client(client, owner)
    await portal_contact(client, owner, acme["id"], "ann@example.com")
    await run_jobs()
    mailbox.messages.clear()
    answers = [await request_links(client, "ann@example.com") for _ in range(7)]
    assert {r.status_code for r in answers} == {202}
    assert len({r.content for r in answers}) == 1
    await run_jobs()
    assert len(mailbox.messages) == 5, "5 links per address per 15 minutes"

    # Per client address: 20 requests from one address, whatever the emails.
    await app.state.redis.flushdb()
    mailbox.messages.clear()
    for n in range(20):
        await request_links(client, f"someone{n}@example.com")
    assert (await request_links(client, "ann@example.com")).status_code == 202
    await run_jobs()
    assert mailbox.messages == []
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as elsewhere:
        assert (await request_links(elsewhere, "ann@example.com")).status_code == 202
    await run_jobs()
    assert len(mailbox.messages) == 1


async def test_portal_paths_confine_the_transaction_to_the_contacts_team(
    client, app, mailbox, run_jobs
):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    acme = await new_client(client, owner, "Mine")
    await new_client(client, stranger, "Theirs")
    ann = await portal_contact(client, owner, acme["id"], "ann@example.com")
    await grant_portal(client, owner, ann["id"])
    await run_jobs()
    first = link_tokens(mailbox)[0]
    user = await sign_in(client, mailbox, run_jobs, ann)  # redeems the newer link
    db, redis, secrets = app.state.db, app.state.redis, app.state.secrets

    # A portal request: the session look-up confines what follows, even an unscoped read.
    async with unit_of_work(db, redis) as session:
        ctx = await auth_service.portal_context_for_token(session, secrets, user.access_token)
        assert str(ctx.contact_id) == ann["id"]
        assert (await session.scalars(select(Client.name))).all() == ["Mine"]
    # Redeeming a link: the token names the team, and the transaction enters it.
    async with unit_of_work(db, redis) as session:
        await portal_service.open_session(session, secrets, app.state.settings, first)
        assert (await session.scalars(select(Client.name))).all() == ["Mine"]
