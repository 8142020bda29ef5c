"""Teams: settings, members and roles, invitations (through the real worker and SMTP)."""

import asyncio
import re
import uuid

import pytest
from sqlalchemy import text

from app.core.permissions import Role
from tests.factories import make_actor
from tests.helpers import assert_problem, bearer

PROBLEM_JSON = "application/problem+json"
NON_MANAGERS = [Role.sales_manager, Role.sales_rep, Role.project_manager, Role.member]
TOKEN_LINK = re.compile(r"https://app\.hourline\.test/invitations/([A-Za-z0-9_\-]+)")


async def members_of(client, actor) -> dict[str, str]:
    r = await client.get(actor.url("/members"), headers=actor.headers, params={"limit": 200})
    assert r.status_code == 200, r.text
    return {m["user_id"]: m["role"] for m in r.json()["data"]}


async def db_roles(app, team_id) -> dict[str, str]:
    async with app.state.db.engine.begin() as conn:
        rows = await conn.execute(
            text("SELECT user_id, role FROM team_membership WHERE team_id = :t"), {"t": team_id}
        )
        return {str(u): str(r) for u, r in rows}


async def invite(client, actor, email: str, role: str = "member") -> dict:
    r = await client.post(
        actor.url("/invitations"), headers=actor.headers, json={"email": email, "role": role}
    )
    assert r.status_code == 201, r.text
    return r.json()


async def token_for(mailbox, run_jobs, email: str) -> str:
    """Run the worker and return the invitation token of the last mail to `email`."""
    await run_jobs()
    mails = [m for m in mailbox.messages if email.lower() in m["To"].lower()]
    assert mails, [m["To"] for m in mailbox.messages]
    body = mails[-1].get_body(preferencelist=("plain",)).get_content()
    match = TOKEN_LINK.search(body)
    assert match, body
    return match.group(1)


# ------------------------------------------------------------------ GET team


async def test_get_team_ladder(client, app):
    owner = await make_actor(app)
    stranger = await make_actor(app)

    assert_problem(await client.get(owner.url()), 401, "not_authenticated")
    assert_problem(await client.get(owner.url(), headers=bearer("garbage")), 401, "invalid_token")
    assert_problem(await client.get(owner.url(), headers=stranger.headers), 404)
    assert_problem(await client.get(f"/v1/teams/{uuid.uuid4()}", headers=owner.headers), 404)

    r = await client.get(owner.url(), headers=owner.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == str(owner.team_id)
    assert body["base_currency"] == "EUR"
    assert body["timezone"] == "UTC"
    assert body["time_entry_min_seconds"] == 600


@pytest.mark.parametrize("role", list(Role))
async def test_get_team_every_role(client, app, role):
    owner = await make_actor(app)
    actor = await make_actor(app, team_id=owner.team_id, role=role)
    r = await client.get(actor.url(), headers=actor.headers)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == str(owner.team_id)


# ------------------------------------------------------------------ PATCH team


async def test_patch_team_ladder(client, app):
    owner = await make_actor(app)
    org = await make_actor(app, team_id=owner.team_id, role=Role.org_manager)
    stranger = await make_actor(app)
    change = {"name": "Renamed"}

    assert_problem(await client.patch(owner.url(), json=change), 401)
    assert_problem(
        await client.patch(owner.url(), json=change, headers=org.headers), 403, "forbidden"
    )
    assert_problem(await client.patch(owner.url(), json=change, headers=stranger.headers), 404)

    r = await client.patch(owner.url(), json=change, headers=owner.headers)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Renamed"
    r = await client.get(owner.url(), headers=org.headers)
    assert r.json()["name"] == "Renamed"
    # The stranger's own team was not touched.
    r = await client.get(stranger.url(), headers=stranger.headers)
    assert r.json()["name"] != "Renamed"


@pytest.mark.parametrize("role", list(Role))
async def test_patch_team_only_superadmin(client, app, role):
    owner = await make_actor(app)
    actor = await make_actor(app, team_id=owner.team_id, role=role)
    r = await client.patch(actor.url(), json={"name": "By " + role.value}, headers=actor.headers)
    name = (await client.get(owner.url(), headers=owner.headers)).json()["name"]
    if role is Role.superadmin:
        assert r.status_code == 200, r.text
        assert name == "By superadmin"
    else:
        assert_problem(r, 403, "forbidden")
        assert name != "By " + role.value


async def test_patch_team_settings_are_saved(client, app):
    owner = await make_actor(app)
    r = await client.patch(
        owner.url(),
        json={"base_currency": "usd", "timezone": "Europe/Berlin", "time_entry_min_seconds": 0},
        headers=owner.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["base_currency"] == "USD"
    got = (await client.get(owner.url(), headers=owner.headers)).json()
    assert got["base_currency"] == "USD"
    assert got["timezone"] == "Europe/Berlin"
    assert got["time_entry_min_seconds"] == 0

    r = await client.patch(
        owner.url(), json={"time_entry_min_seconds": 86400}, headers=owner.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["time_entry_min_seconds"] == 86400
    # Fields not sent are kept.
    assert r.json()["timezone"] == "Europe/Berlin"


@pytest.mark.parametrize(
    "change",
    [
        {"base_currency": "XYZ"},
        {"base_currency": "EURO"},
        {"timezone": "Mars/Base"},
        {"time_entry_min_seconds": -1},
        {"time_entry_min_seconds": 86401},
        {"name": ""},
        {"unknown_field": 1},
    ],
)
async def test_patch_team_rejects_invalid_settings(client, app, change):
    owner = await make_actor(app)
    before = (await client.get(owner.url(), headers=owner.headers)).json()
    r = await client.patch(owner.url(), json=change, headers=owner.headers)
    body = assert_problem(r, 422, "validation_error")
    assert body["errors"]
    after = (await client.get(owner.url(), headers=owner.headers)).json()
    assert {
        k: after[k] for k in ("name", "base_currency", "timezone", "time_entry_min_seconds")
    } == {k: before[k] for k in ("name", "base_currency", "timezone", "time_entry_min_seconds")}


async def test_patch_team_null_is_rejected(client, app):
    owner = await make_actor(app)
    r = await client.patch(owner.url(), json={"timezone": None}, headers=owner.headers)
    assert_problem(r, 422)
    assert (await client.get(owner.url(), headers=owner.headers)).json()["timezone"] == "UTC"


# ------------------------------------------------------------------ DELETE team


async def test_delete_team_ladder(client, app):
    owner = await make_actor(app)
    org = await make_actor(app, team_id=owner.team_id, role=Role.org_manager)
    member = await make_actor(app, team_id=owner.team_id, role=Role.member)
    stranger = await make_actor(app)

    assert_problem(await client.delete(owner.url()), 401)
    assert_problem(await client.delete(owner.url(), headers=org.headers), 403)
    assert_problem(await client.delete(owner.url(), headers=member.headers), 403)
    assert_problem(await client.delete(owner.url(), headers=stranger.headers), 404)
    assert (await client.get(owner.url(), headers=member.headers)).status_code == 200

    r = await client.delete(owner.url(), headers=owner.headers)
    assert r.status_code == 204, r.text
    assert_problem(await client.get(owner.url(), headers=owner.headers), 404)
    assert_problem(await client.get(owner.url(), headers=member.headers), 404)
    me = (await client.get("/v1/me", headers=member.headers)).json()
    assert me["teams"] == []
    # Another team is untouched.
    assert (await client.get(stranger.url(), headers=stranger.headers)).status_code == 200


# ------------------------------------------------------------------ GET members


async def test_list_members_ladder(client, app):
    owner = await make_actor(app)
    member = await make_actor(app, team_id=owner.team_id, role=Role.member)
    stranger = await make_actor(app)

    assert_problem(await client.get(owner.url("/members")), 401)
    assert_problem(await client.get(owner.url("/members"), headers=stranger.headers), 404)

    r = await client.get(owner.url("/members"), headers=member.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["has_more"] is False
    by_id = {m["user_id"]: m for m in body["data"]}
    assert set(by_id) == {str(owner.user_id), str(member.user_id)}
    assert by_id[str(owner.user_id)]["role"] == "superadmin"
    assert by_id[str(member.user_id)]["role"] == "member"
    assert by_id[str(member.user_id)]["email"] == member.email
    assert str(stranger.user_id) not in by_id


async def test_list_members_paginates(client, app):
    owner = await make_actor(app)
    for _ in range(4):
        await make_actor(app, team_id=owner.team_id, role=Role.member)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        r = await client.get(owner.url("/members"), headers=owner.headers, params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["data"]) <= 2
        seen += [m["user_id"] for m in page["data"]]
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        cursor = page["next_cursor"]
    assert len(seen) == 5 == len(set(seen))


@pytest.mark.parametrize("role", list(Role))
async def test_list_members_every_role(client, app, role):
    owner = await make_actor(app)
    actor = await make_actor(app, team_id=owner.team_id, role=role)
    r = await client.get(actor.url("/members"), headers=actor.headers)
    assert r.status_code == 200, r.text
    assert {m["user_id"] for m in r.json()["data"]} == {str(owner.user_id), str(actor.user_id)}


# ------------------------------------------------------------------ PATCH member


async def test_change_role_ladder(client, app):
    owner = await make_actor(app)
    target = await make_actor(app, team_id=owner.team_id, role=Role.member)
    stranger = await make_actor(app)
    other_team_member = await make_actor(app, team_id=stranger.team_id, role=Role.member)
    url = owner.url(f"/members/{target.user_id}")

    assert_problem(await client.patch(url, json={"role": "sales_rep"}), 401)
    for role in NON_MANAGERS:
        actor = await make_actor(app, team_id=owner.team_id, role=role)
        r = await client.patch(url, json={"role": "sales_rep"}, headers=actor.headers)
        assert_problem(r, 403, "forbidden")
    assert_problem(
        await client.patch(url, json={"role": "sales_rep"}, headers=stranger.headers), 404
    )
    # A member of another team addressed through this team: not found.
    r = await client.patch(
        owner.url(f"/members/{other_team_member.user_id}"),
        json={"role": "sales_rep"},
        headers=owner.headers,
    )
    assert_problem(r, 404)
    assert (await db_roles(app, stranger.team_id))[str(other_team_member.user_id)] == "member"
    assert (await db_roles(app, owner.team_id))[str(target.user_id)] == "member"

    r = await client.patch(url, json={"role": "sales_rep"}, headers=owner.headers)
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "sales_rep"
    assert r.json()["user_id"] == str(target.user_id)
    assert (await members_of(client, owner))[str(target.user_id)] == "sales_rep"
    me = (await client.get("/v1/me", headers=target.headers)).json()
    assert me["teams"][0]["role"] == "sales_rep"


async def test_change_role_rejects_unknown_role(client, app):
    owner = await make_actor(app)
    target = await make_actor(app, team_id=owner.team_id, role=Role.member)
    r = await client.patch(
        owner.url(f"/members/{target.user_id}"), json={"role": "owner"}, headers=owner.headers
    )
    assert_problem(r, 422, "validation_error")


async def test_org_manager_manages_below_superadmin(client, app):
    owner = await make_actor(app)
    org = await make_actor(app, team_id=owner.team_id, role=Role.org_manager)
    target = await make_actor(app, team_id=owner.team_id, role=Role.member)

    r = await client.patch(
        owner.url(f"/members/{target.user_id}"), json={"role": "org_manager"}, headers=org.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "org_manager"

    # Cannot grant superadmin, to another or to itself.
    r = await client.patch(
        owner.url(f"/members/{target.user_id}"), json={"role": "superadmin"}, headers=org.headers
    )
    assert_problem(r, 403)
    r = await client.patch(
        owner.url(f"/members/{org.user_id}"), json={"role": "superadmin"}, headers=org.headers
    )
    assert_problem(r, 403)
    # Cannot change or remove a superadmin.
    r = await client.patch(
        owner.url(f"/members/{owner.user_id}"), json={"role": "member"}, headers=org.headers
    )
    assert_problem(r, 403)
    r = await client.delete(owner.url(f"/members/{owner.user_id}"), headers=org.headers)
    assert_problem(r, 403)

    roles = await db_roles(app, owner.team_id)
    assert roles == {
        str(owner.user_id): "superadmin",
        str(org.user_id): "org_manager",
        str(target.user_id): "org_manager",
    }


async def test_superadmin_promotes_to_superadmin(client, app):
    owner = await make_actor(app)
    target = await make_actor(app, team_id=owner.team_id, role=Role.org_manager)
    r = await client.patch(
        owner.url(f"/members/{target.user_id}"), json={"role": "superadmin"}, headers=owner.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "superadmin"
    # The new superadmin has team settings rights now.
    r = await client.patch(target.url(), json={"name": "Co-owned"}, headers=target.headers)
    assert r.status_code == 200, r.text
    # And may now demote the original owner, since it is no longer the last superadmin.
    r = await client.patch(
        owner.url(f"/members/{owner.user_id}"), json={"role": "member"}, headers=target.headers
    )
    assert r.status_code == 200, r.text
    assert await db_roles(app, owner.team_id) == {
        str(owner.user_id): "member",
        str(target.user_id): "superadmin",
    }


async def test_last_superadmin_cannot_be_demoted_or_removed(client, app):
    owner = await make_actor(app)
    org = await make_actor(app, team_id=owner.team_id, role=Role.org_manager)
    url = owner.url(f"/members/{owner.user_id}")

    assert_problem(
        await client.patch(url, json={"role": "org_manager"}, headers=owner.headers),
        409,
        "last_superadmin",
    )
    assert_problem(await client.delete(url, headers=owner.headers), 409, "last_superadmin")
    assert await db_roles(app, owner.team_id) == {
        str(owner.user_id): "superadmin",
        str(org.user_id): "org_manager",
    }
    # Keeping the role is not a demotion.
    r = await client.patch(url, json={"role": "superadmin"}, headers=owner.headers)
    assert r.status_code == 200, r.text


RACE_ROUNDS = 5


async def test_concurrent_mutual_demotion_leaves_one_superadmin(client, app):
    """Two superadmins demote each other at once: one wins, the other is refused cleanly.

    The loser is a 409 `last_superadmin` (or a 403 when it was already demoted before its
    request read its role), never a 500. Several rounds, since the interleaving varies.
    """
    for _ in range(RACE_ROUNDS):
        a = await make_actor(app)
        b = await make_actor(app, team_id=a.team_id, role=Role.superadmin)

        ra, rb = await asyncio.gather(
            client.patch(
                a.url(f"/members/{b.user_id}"), json={"role": "member"}, headers=a.headers
            ),
            client.patch(
                a.url(f"/members/{a.user_id}"), json={"role": "member"}, headers=b.headers
            ),
        )
        assert sorted([ra.status_code, rb.status_code]) in ([200, 403], [200, 409]), (
            ra.text,
            rb.text,
        )
        loser = ra if ra.status_code != 200 else rb
        assert_problem(
            loser, loser.status_code, "last_superadmin" if loser.status_code == 409 else "forbidden"
        )

        roles = await db_roles(app, a.team_id)
        assert sorted(roles.values()) == ["member", "superadmin"]
        winner = a if ra.status_code == 200 else b
        assert roles[str(winner.user_id)] == "superadmin"


async def test_concurrent_mutual_removal_leaves_one_superadmin(client, app):
    for _ in range(RACE_ROUNDS):
        a = await make_actor(app)
        b = await make_actor(app, team_id=a.team_id, role=Role.superadmin)

        ra, rb = await asyncio.gather(
            client.delete(a.url(f"/members/{b.user_id}"), headers=a.headers),
            client.delete(a.url(f"/members/{a.user_id}"), headers=b.headers),
        )
        # The loser may also find itself already removed from the team (404).
        assert sorted([ra.status_code, rb.status_code]) in ([204, 404], [204, 409]), (
            ra.text,
            rb.text,
        )
        roles = await db_roles(app, a.team_id)
        assert list(roles.values()) == ["superadmin"]
        winner = a if ra.status_code == 204 else b
        assert list(roles) == [str(winner.user_id)]


# ------------------------------------------------------------------ DELETE member


async def test_remove_member_ladder(client, app):
    owner = await make_actor(app)
    target = await make_actor(app, team_id=owner.team_id, role=Role.member)
    stranger = await make_actor(app)
    other_team_member = await make_actor(app, team_id=stranger.team_id, role=Role.member)
    url = owner.url(f"/members/{target.user_id}")

    assert_problem(await client.delete(url), 401)
    for role in NON_MANAGERS:
        actor = await make_actor(app, team_id=owner.team_id, role=role)
        assert_problem(await client.delete(url, headers=actor.headers), 403, "forbidden")
    assert_problem(await client.delete(url, headers=stranger.headers), 404)
    r = await client.delete(
        owner.url(f"/members/{other_team_member.user_id}"), headers=owner.headers
    )
    assert_problem(r, 404)
    assert str(other_team_member.user_id) in await db_roles(app, stranger.team_id)
    assert str(target.user_id) in await db_roles(app, owner.team_id)

    r = await client.delete(url, headers=owner.headers)
    assert r.status_code == 204, r.text
    assert str(target.user_id) not in await members_of(client, owner)
    # The removed user's token no longer reaches the team.
    assert_problem(await client.get(owner.url(), headers=target.headers), 404)
    assert_problem(await client.get(owner.url("/members"), headers=target.headers), 404)
    me = (await client.get("/v1/me", headers=target.headers)).json()
    assert me["teams"] == []
    # Removing again: not found.
    assert_problem(await client.delete(url, headers=owner.headers), 404)


async def test_org_manager_removes_member(client, app):
    owner = await make_actor(app)
    org = await make_actor(app, team_id=owner.team_id, role=Role.org_manager)
    target = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    r = await client.delete(owner.url(f"/members/{target.user_id}"), headers=org.headers)
    assert r.status_code == 204, r.text
    assert str(target.user_id) not in await db_roles(app, owner.team_id)


@pytest.mark.parametrize("role", [Role.member, Role.project_manager, Role.org_manager])
async def test_member_may_leave(client, app, role):
    owner = await make_actor(app)
    leaver = await make_actor(app, team_id=owner.team_id, role=role)
    r = await client.delete(owner.url(f"/members/{leaver.user_id}"), headers=leaver.headers)
    assert r.status_code == 204, r.text
    assert await db_roles(app, owner.team_id) == {str(owner.user_id): "superadmin"}
    assert_problem(await client.get(owner.url(), headers=leaver.headers), 404)


async def test_superadmin_may_leave_when_another_remains(client, app):
    owner = await make_actor(app)
    other = await make_actor(app, team_id=owner.team_id, role=Role.superadmin)
    r = await client.delete(owner.url(f"/members/{owner.user_id}"), headers=owner.headers)
    assert r.status_code == 204, r.text
    assert await db_roles(app, owner.team_id) == {str(other.user_id): "superadmin"}


# ------------------------------------------------------------------ invitations


async def test_invite_ladder(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    payload = {"email": "new.person@example.com", "role": "member"}

    assert_problem(await client.post(owner.url("/invitations"), json=payload), 401)
    for role in NON_MANAGERS:
        actor = await make_actor(app, team_id=owner.team_id, role=role)
        assert_problem(
            await client.post(owner.url("/invitations"), json=payload, headers=actor.headers), 403
        )
    assert_problem(
        await client.post(owner.url("/invitations"), json=payload, headers=stranger.headers), 404
    )
    await run_jobs()
    assert mailbox.messages == []

    r = await client.post(owner.url("/invitations"), json=payload, headers=owner.headers)
    assert r.status_code == 201, r.text
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
    url = owner.url(f"/invitations/{inv['id']}")

    assert_problem(await client.delete(url), 401)
    for role in NON_MANAGERS:
        actor = await make_actor(app, team_id=owner.team_id, role=role)
        assert_problem(await client.delete(url, headers=actor.headers), 403)
    assert_problem(await client.delete(url, headers=stranger.headers), 404)
    # Another team's invitation through this team's path: not found, and still pending.
    assert_problem(
        await client.delete(owner.url(f"/invitations/{foreign['id']}"), headers=owner.headers), 404
    )
    assert_problem(
        await client.delete(owner.url(f"/invitations/{uuid.uuid4()}"), headers=owner.headers), 404
    )

    r = await client.delete(url, headers=owner.headers)
    assert r.status_code == 204, r.text
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

    assert_problem(await client.get(owner.url("/invitations")), 401)
    for role in NON_MANAGERS:
        actor = await make_actor(app, team_id=owner.team_id, role=role)
        assert_problem(await client.get(owner.url("/invitations"), headers=actor.headers), 403)
    assert_problem(await client.get(owner.url("/invitations"), headers=stranger.headers), 404)

    org = await make_actor(app, team_id=owner.team_id, role=Role.org_manager)
    r = await client.get(owner.url("/invitations"), headers=org.headers)
    assert r.status_code == 200, r.text
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
