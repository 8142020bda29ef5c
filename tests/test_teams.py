"""Teams: reading, changing and deleting a team, its members and their roles (the last
superadmin stays, also under races), leaving and removing members."""

import asyncio
import uuid

import pytest

from app.core.permissions import Role
from tests.factories import make_actor
from tests.factories.teams import db_roles, members_of
from tests.helpers import NON_MANAGERS, assert_problem
from tests.ladder import ladder

# ------------------------------------------------------------------ GET team


async def test_get_team_ladder(client, app):
    owner = await make_actor(app)
    stranger = await make_actor(app)

    assert_problem(await client.get(f"/v1/teams/{uuid.uuid4()}", headers=owner.headers), 404)

    r = await ladder(client, "GET", "", owner=owner, stranger=stranger)
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

    r = await ladder(
        client, "PATCH", "", owner=owner, stranger=stranger, forbidden=org, json=change
    )
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

    async def unchanged() -> None:
        assert (await client.get(owner.url(), headers=member.headers)).status_code == 200

    await ladder(
        client,
        "DELETE",
        "",
        owner=owner,
        stranger=stranger,
        forbidden=[org, member],
        unchanged=unchanged,
        ok=204,
    )
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

    r = await ladder(client, "GET", "/members", owner=owner, stranger=stranger, allowed=member)
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
    non_managers = [await make_actor(app, team_id=owner.team_id, role=r) for r in NON_MANAGERS]

    async def unchanged() -> None:
        assert (await db_roles(app, stranger.team_id))[str(other_team_member.user_id)] == "member"
        assert (await db_roles(app, owner.team_id))[str(target.user_id)] == "member"

    r = await ladder(
        client,
        "PATCH",
        f"/members/{target.user_id}",
        owner=owner,
        stranger=stranger,
        forbidden=non_managers,
        # A member of another team addressed through this team: not found.
        foreign_paths=[f"/members/{other_team_member.user_id}"],
        json={"role": "sales_rep"},
        unchanged=unchanged,
    )
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

    non_managers = [await make_actor(app, team_id=owner.team_id, role=r) for r in NON_MANAGERS]

    async def unchanged() -> None:
        assert str(other_team_member.user_id) in await db_roles(app, stranger.team_id)
        assert str(target.user_id) in await db_roles(app, owner.team_id)

    await ladder(
        client,
        "DELETE",
        f"/members/{target.user_id}",
        owner=owner,
        stranger=stranger,
        forbidden=non_managers,
        foreign_paths=[f"/members/{other_team_member.user_id}"],
        unchanged=unchanged,
        ok=204,
    )
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
