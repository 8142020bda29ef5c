"""A team's settings, members, invitations and API keys, driven through the API."""

from sqlalchemy import text

from tests.factories.accounts import Actor


async def patch_team(http, owner: Actor, **fields) -> dict:
    """Change the team's settings; it must succeed."""
    r = await http.patch(owner.url(), json=fields, headers=owner.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def members_of(http, actor: Actor) -> dict[str, str]:
    """Member user id -> team role, as the API lists them."""
    r = await http.get(actor.url("/members"), headers=actor.headers, params={"limit": 200})
    assert r.status_code == 200, r.text
    return {m["user_id"]: m["role"] for m in r.json()["data"]}


async def db_roles(app, team_id) -> dict[str, str]:
    """Member user id -> team role, as the database holds them."""
    async with app.state.db.engine.begin() as conn:
        rows = await conn.execute(
            text("SELECT user_id, role FROM team_membership WHERE team_id = :t"), {"t": team_id}
        )
        return {str(u): str(r) for u, r in rows}


async def invite(http, actor: Actor, email: str, role: str = "member") -> dict:
    r = await http.post(
        actor.url("/invitations"), headers=actor.headers, json={"email": email, "role": role}
    )
    assert r.status_code == 201, r.text
    return r.json()


async def create_api_key(http, actor: Actor, role: str = "member", **extra) -> dict:
    """A key acting with `role`; the response carries its secret, shown this once."""
    r = await http.post(
        actor.url("/api-keys"),
        json={"name": f"{role} key", "role": role, **extra},
        headers=actor.headers,
    )
    assert r.status_code == 201, r.text
    return r.json()
