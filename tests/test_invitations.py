"""Invitations to a team, through the real worker and SMTP: who may invite whom, the mail
and its link, accepting as a new or an existing account, revoking, expiry, and a token
used once however often it is raced."""

import asyncio
import re
import uuid

import pytest
from sqlalchemy import text

from app.core.errors import PROBLEM_JSON
from app.core.permissions import Role
from tests.factories import make_actor
from tests.factories.teams import db_roles, invite, members_of
from tests.helpers import NON_MANAGERS, assert_problem, bearer
from tests.ladder import ladder

TOKEN_LINK = re.compile(r"https://app\.hourline\.test/invitations/([A-Za-z0-9_\-]+)")


async def token_for(mailbox, run_jobs, email: str) -> str:
    """Run the worker and return the invitation token of the last mail to `email`."""
    await run_jobs()
    mails = [m for m in mailbox.messages if email.lower() in m["To"].lower()]
    assert mails, [m["To"] for m in mailbox.messages]
    body = mails[-1].get_body(preferencelist=("plain",)).get_content()
    match = TOKEN_LINK.search(body)
    assert match, body
    return match.group(1)


# ------------------------------------------------------------------ invitations


async def test_invite_ladder(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    payload = {"email": "new.person@example.com", "role": "member"}

    non_managers = [await make_actor(app, team_id=owner.team_id, role=r) for r in NON_MANAGERS]

    async def unchanged() -> None:
        await run_jobs()
        assert mailbox.messages == []

    r = await ladder(
        client,
        "POST",
        "/invitations",
        owner=owner,
        stranger=stranger,
        forbidden=non_managers,
        json=payload,
        unchanged=unchanged,
        ok=201,
    )
    body = r.json()
    assert body["email"] == "new.person@example.com"
    assert body["role"] == "member"
    assert body["invited_by_id"] == str(owner.user_id)
    assert body["accepted_at"] is None and body["revoked_at"] is None
    assert "token" not in body


@pytest.mark.parametrize("role", list(Role))
async def test_invite_by_role(client, app, mailbox, run_jobs, role):
    owner = await make_actor(app)
    actor = await make_actor(app, team_id=owner.team_id, role=role)
    r = await client.post(
        actor.url("/invitations"),
        json={"email": "invitee@example.com", "role": "member"},
        headers=actor.headers,
    )
    await run_jobs()
    if role in (Role.superadmin, Role.org_manager):
        assert r.status_code == 201, r.text
        assert [m["To"] for m in mailbox.messages] == ["invitee@example.com"]
    else:
        assert_problem(r, 403)
        assert mailbox.messages == []


async def test_invite_validation(client, app):
    owner = await make_actor(app)
    for payload in (
        {"email": "not-an-email", "role": "member"},
        {"email": "x@example.com", "role": "owner"},
        {"email": "x@example.com"},
    ):
        r = await client.post(owner.url("/invitations"), json=payload, headers=owner.headers)
        assert_problem(r, 422, "validation_error")


async def test_only_superadmin_invites_superadmin(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    org = await make_actor(app, team_id=owner.team_id, role=Role.org_manager)
    r = await client.post(
        owner.url("/invitations"),
        json={"email": "boss@example.com", "role": "superadmin"},
        headers=org.headers,
    )
    assert_problem(r, 403)
    r = await client.post(
        owner.url("/invitations"),
        json={"email": "boss@example.com", "role": "superadmin"},
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text
    token = await token_for(mailbox, run_jobs, "boss@example.com")
    r = await client.post(
        f"/v1/invitations/{token}/accept", json={"name": "Boss", "password": "long enough pw"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "superadmin"


async def test_invitation_email_and_new_account(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    await client.patch(owner.url(), json={"name": "Acme Studio"}, headers=owner.headers)
    inv = await invite(client, owner, "Fresh.Person@Example.com", "project_manager")
    assert inv["email"] == "fresh.person@example.com"

    # Nothing is sent before the worker runs; then exactly one mail to the invitee.
    assert mailbox.messages == []
    assert await run_jobs() >= 1
    assert len(mailbox.messages) == 1
    mail = mailbox.messages[0]
    assert mail["To"] == "fresh.person@example.com"
    assert "Acme Studio" in mail["Subject"]
    token = await token_for(mailbox, run_jobs, "fresh.person@example.com")
    assert len(token) >= 32

    # A new address needs a name and a password.
    url = f"/v1/invitations/{token}/accept"
    assert_problem(await client.post(url, json={}), 422, "name_and_password_required")
    assert_problem(
        await client.post(url, json={"name": "Fresh"}), 422, "name_and_password_required"
    )
    assert_problem(
        await client.post(url, json={"password": "long enough pw"}),
        422,
        "name_and_password_required",
    )
    assert_problem(
        await client.post(url, json={"name": "Fresh", "password": "short"}), 422, "validation_error"
    )

    r = await client.post(url, json={"name": "Fresh Person", "password": "long enough pw"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["role"] == "project_manager"
    assert body["team"]["id"] == str(owner.team_id)
    assert body["user"]["email"] == "fresh.person@example.com"
    assert body["access_token"] and body["refresh_token"]

    me = await client.get("/v1/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json()["name"] == "Fresh Person"
    assert me.json()["teams"] == [
        {"id": str(owner.team_id), "name": "Acme Studio", "role": "project_manager"}
    ]
    assert (await members_of(client, owner))[body["user"]["id"]] == "project_manager"

    # The new account can log in with the chosen password.
    r = await client.post(
        "/v1/auth/login", json={"email": "fresh.person@example.com", "password": "long enough pw"}
    )
    assert r.status_code == 200, r.text

    # Used once.
    assert_problem(
        await client.post(url, json={"name": "Fresh Person", "password": "long enough pw"}), 404
    )
    invitations = (await client.get(owner.url("/invitations"), headers=owner.headers)).json()[
        "data"
    ]
    assert [i["id"] for i in invitations] == [inv["id"]]
    assert invitations[0]["accepted_at"] is not None


async def test_accept_links_existing_account(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    existing = await make_actor(app)  # owns its own team
    await invite(client, owner, existing.email.upper(), "sales_rep")
    token = await token_for(mailbox, run_jobs, existing.email)

    assert_problem(await client.get(owner.url(), headers=existing.headers), 404)
    r = await client.post(f"/v1/invitations/{token}/accept", json={})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"]["id"] == str(existing.user_id)
    assert body["role"] == "sales_rep"
    assert body.get("access_token") is None
    assert body.get("refresh_token") is None

    # The existing user's own token now sees the team.
    r = await client.get(owner.url(), headers=existing.headers)
    assert r.status_code == 200, r.text
    teams = {
        t["id"]: t["role"]
        for t in (await client.get("/v1/me", headers=existing.headers)).json()["teams"]
    }
    assert teams == {str(existing.team_id): "superadmin", str(owner.team_id): "sales_rep"}
    # No second account was created for the address.
    async with app.state.db.engine.begin() as conn:
        n = await conn.scalar(
            text("SELECT count(*) FROM user_account WHERE lower(email) = :e"),
            {"e": existing.email.lower()},
        )
    assert n == 1
    assert_problem(await client.post(f"/v1/invitations/{token}/accept", json={}), 404)


async def test_accept_with_name_and_password_does_not_touch_existing_account(
    client, app, mailbox, run_jobs
):
    owner = await make_actor(app)
    existing = await make_actor(app)
    await invite(client, owner, existing.email, "member")
    token = await token_for(mailbox, run_jobs, existing.email)
    r = await client.post(
        f"/v1/invitations/{token}/accept", json={"name": "Hijack", "password": "another password"}
    )
    assert r.status_code == 200, r.text
    assert r.json().get("access_token") is None
    # The old password still works, the new one does not.
    r = await client.post(
        "/v1/auth/login", json={"email": existing.email, "password": "another password"}
    )
    assert_problem(r, 401)
    r = await client.post(
        "/v1/auth/login", json={"email": existing.email, "password": existing.password}
    )
    assert r.status_code == 200, r.text


async def test_unknown_token_is_404(client, app):
    await make_actor(app)
    r = await client.post(
        "/v1/invitations/not-a-real-token/accept", json={"name": "X", "password": "long enough pw"}
    )
    assert_problem(r, 404)


async def test_revoke_invitation_ladder(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    inv = await invite(client, owner, "revoked@example.com")
    token = await token_for(mailbox, run_jobs, "revoked@example.com")
    foreign = await invite(client, stranger, "foreign@example.com")
    foreign_token = await token_for(mailbox, run_jobs, "foreign@example.com")
    non_managers = [await make_actor(app, team_id=owner.team_id, role=r) for r in NON_MANAGERS]

    await ladder(
        client,
        "DELETE",
        f"/invitations/{inv['id']}",
        owner=owner,
        stranger=stranger,
        forbidden=non_managers,
        # Another team's invitation through this team's path: not found, and still pending.
        foreign_paths=[f"/invitations/{foreign['id']}", f"/invitations/{uuid.uuid4()}"],
        ok=204,
    )
    listed = (await client.get(owner.url("/invitations"), headers=owner.headers)).json()["data"]
    assert listed[0]["revoked_at"] is not None

    accept = {"name": "Revoked", "password": "long enough pw"}
    assert_problem(await client.post(f"/v1/invitations/{token}/accept", json=accept), 404)
    r = await client.post(
        f"/v1/invitations/{foreign_token}/accept",
        json={"name": "Foreign", "password": "long enough pw"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["team"]["id"] == str(stranger.team_id)


async def test_revoking_accepted_invitation_conflicts(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    inv = await invite(client, owner, "joined@example.com")
    token = await token_for(mailbox, run_jobs, "joined@example.com")
    r = await client.post(
        f"/v1/invitations/{token}/accept", json={"name": "Joined", "password": "long enough pw"}
    )
    assert r.status_code == 200, r.text
    r = await client.delete(owner.url(f"/invitations/{inv['id']}"), headers=owner.headers)
    assert_problem(r, 409, "invitation_accepted")
    # The membership stays and the invitation keeps its acceptance.
    assert "member" in (await members_of(client, owner)).values()
    listed = (await client.get(owner.url("/invitations"), headers=owner.headers)).json()["data"]
    assert listed[0]["accepted_at"] is not None
    assert listed[0]["revoked_at"] is None


async def test_list_invitations_ladder(client, app):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    mine = await invite(client, owner, "mine@example.com")
    await invite(client, stranger, "theirs@example.com")

    non_managers = [await make_actor(app, team_id=owner.team_id, role=r) for r in NON_MANAGERS]

    org = await make_actor(app, team_id=owner.team_id, role=Role.org_manager)
    r = await ladder(
        client,
        "GET",
        "/invitations",
        owner=owner,
        stranger=stranger,
        forbidden=non_managers,
        allowed=org,
    )
    assert [i["id"] for i in r.json()["data"]] == [mine["id"]]
    assert "token" not in r.json()["data"][0]


async def test_inviting_existing_member_conflicts(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    member = await make_actor(app, team_id=owner.team_id, role=Role.member)
    r = await client.post(
        owner.url("/invitations"),
        json={"email": member.email.upper(), "role": "org_manager"},
        headers=owner.headers,
    )
    assert_problem(r, 409, "already_member")
    await run_jobs()
    assert mailbox.messages == []
    assert (await client.get(owner.url("/invitations"), headers=owner.headers)).json()["data"] == []


async def test_reinvite_replaces_pending_invitation(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    first = await invite(client, owner, "again@example.com", "member")
    old_token = await token_for(mailbox, run_jobs, "again@example.com")
    second = await invite(client, owner, "Again@Example.com", "sales_manager")
    new_token = await token_for(mailbox, run_jobs, "again@example.com")
    assert new_token != old_token
    assert len(mailbox.messages) == 2

    listed = {
        i["id"]: i
        for i in (await client.get(owner.url("/invitations"), headers=owner.headers)).json()["data"]
    }
    assert listed[first["id"]]["revoked_at"] is not None
    assert listed[second["id"]]["revoked_at"] is None

    accept = {"name": "Again", "password": "long enough pw"}
    assert_problem(await client.post(f"/v1/invitations/{old_token}/accept", json=accept), 404)
    r = await client.post(f"/v1/invitations/{new_token}/accept", json=accept)
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "sales_manager"


async def test_expired_invitation_cannot_be_accepted(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    inv = await invite(client, owner, "late@example.com")
    token = await token_for(mailbox, run_jobs, "late@example.com")
    async with app.state.db.engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE team_invitation SET expires_at = now() - interval '1 minute' WHERE id = :id"
            ),
            {"id": inv["id"]},
        )
    r = await client.post(
        f"/v1/invitations/{token}/accept", json={"name": "Late", "password": "long enough pw"}
    )
    assert r.status_code in (404, 409, 410), r.text
    assert r.headers["content-type"].startswith(PROBLEM_JSON)
    assert list((await db_roles(app, owner.team_id)).values()) == ["superadmin"]


async def test_concurrent_accepts_use_token_once(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    await invite(client, owner, "twice@example.com")
    token = await token_for(mailbox, run_jobs, "twice@example.com")
    accept = {"name": "Twice", "password": "long enough pw"}
    r1, r2 = await asyncio.gather(
        client.post(f"/v1/invitations/{token}/accept", json=accept),
        client.post(f"/v1/invitations/{token}/accept", json=accept),
    )
    assert sorted([r1.status_code, r2.status_code]) == [200, 404], (r1.text, r2.text)
    assert len(await db_roles(app, owner.team_id)) == 2
