"""Contacts and their activities, made through the API; the portal login link they get."""

import re
from datetime import datetime

from app.core.permissions import Role
from tests.factories.accounts import Actor, make_actor
from tests.factories.clients import new_client
from tests.factories.projects import add_to_project

PORTAL_LINK = re.compile(r"https://app\.hourline\.test/portal/login\?token=([A-Za-z0-9_\-]+)")


async def new_contact(http, actor: Actor, name: str = "Ann", **fields) -> dict:
    r = await http.post(
        actor.url("/contacts"), json={"name": name, **fields}, headers=actor.headers
    )
    assert r.status_code == 201, r.text
    return r.json()


async def get_contact(http, actor: Actor, contact_id: str) -> dict:
    r = await http.get(actor.url(f"/contacts/{contact_id}"), headers=actor.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def new_activity(http, actor: Actor, contact_id: str, **fields) -> dict:
    """A note (unless `kind` says otherwise) logged on the contact."""
    body = {"kind": "note", "body": "Talked", **fields}
    if isinstance(body.get("occurred_at"), datetime):
        body["occurred_at"] = body["occurred_at"].isoformat()
    r = await http.post(
        actor.url(f"/contacts/{contact_id}/activities"), json=body, headers=actor.headers
    )
    assert r.status_code == 201, r.text
    return r.json()


async def contact_seen_by_member(http, app, owner: Actor) -> tuple[Actor, dict]:
    """A team member, and a contact (with an email) of a client whose project has that
    member in it: the member sees the contact but may not change it."""
    member = await make_actor(app, team_id=owner.team_id, role=Role.member)
    acme = await new_client(http, owner)
    await add_to_project(http, owner, acme["id"], member.user_id)
    contact = await new_contact(http, owner, email="ann@example.com", client_id=acme["id"])
    await get_contact(http, member, contact["id"])
    return member, contact
