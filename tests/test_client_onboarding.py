"""Onboarding a client in one transaction: the client, its project and its contacts,
invited to the portal by mail - or, when anything fails, nothing at all."""

import pytest

from app.core.permissions import Role
from tests.factories import make_actor
from tests.factories.clients import new_client
from tests.factories.contacts import PORTAL_LINK
from tests.helpers import assert_problem, list_ids


async def everything_empty(client, owner) -> None:
    """No client (active or archived), contact or project exists in the team."""
    assert await list_ids(client, owner, "/clients") == []
    assert await list_ids(client, owner, "/clients", status="archived") == []
    assert await list_ids(client, owner, "/contacts") == []
    assert await list_ids(client, owner, "/projects") == []
    assert await list_ids(client, owner, "/projects", status="archived") == []


# ------------------------------------------------------------------ onboarding


async def test_onboarding_creates_everything_and_emails_contacts(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    invites = [
        {"name": "Ann Buyer", "email": "ann@acme.example.com"},
        {"name": "Bob Payer", "email": "bob@acme.example.com"},
    ]
    r = await client.post(
        owner.url("/clients"),
        json={
            "name": "Acme",
            "currency": "USD",
            "create_project": True,
            "invite_contacts": invites,
        },
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    client_id = body["id"]
    assert body["currency"] == "USD"
    assert body["project_id"] and body["board_id"]
    assert {c["email"] for c in body["contacts"]} == {i["email"] for i in invites}
    assert all(c["portal_access"] is True for c in body["contacts"])

    # Invoice settings with defaults, in the client's currency (the team's is EUR).
    r = await client.get(owner.url(f"/clients/{client_id}/invoice-settings"), headers=owner.headers)
    assert r.status_code == 200, r.text
    settings = r.json()
    assert settings["schedule"] == "none"
    assert settings["due_days"] == 14
    assert settings["currency"] == "USD"

    # One project, named after the client, with the three-column board.
    projects = await list_ids(client, owner, "/projects")
    assert projects == [body["project_id"]]
    r = await client.get(owner.url(f"/projects/{body['project_id']}"), headers=owner.headers)
    assert r.json()["name"] == "Acme"
    assert r.json()["client_id"] == client_id
    assert r.json()["board_id"] == body["board_id"]
    r = await client.get(owner.url(f"/projects/{body['project_id']}/board"), headers=owner.headers)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == body["board_id"]
    assert [c["name"] for c in r.json()["columns"]] == ["To do", "In progress", "Done"]

    # Contacts of the client, with portal access, viewers of the project.
    r = await client.get(
        owner.url("/contacts"), params={"client_id": client_id}, headers=owner.headers
    )
    contacts = r.json()["data"]
    assert {c["email"] for c in contacts} == {i["email"] for i in invites}
    assert {c["name"] for c in contacts} == {i["name"] for i in invites}
    assert all(c["portal_access"] and c["client_id"] == client_id for c in contacts)
    r = await client.get(
        owner.url(f"/projects/{body['project_id']}/viewers"), headers=owner.headers
    )
    assert r.status_code == 200, r.text
    viewers = r.json()["data"] if isinstance(r.json(), dict) else r.json()
    assert {v["contact_id"] for v in viewers} == {c["id"] for c in contacts}

    # One email per contact, sent by the worker after commit, each with its own login link.
    assert mailbox.messages == []
    await run_jobs()
    assert len(mailbox.messages) == 2
    tokens = set()
    for invite in invites:
        mails = [m for m in mailbox.messages if invite["email"] in m["To"].lower()]
        assert len(mails) == 1, [m["To"] for m in mailbox.messages]
        text = mails[0].get_body(preferencelist=("plain",)).get_content()
        match = PORTAL_LINK.search(text)
        assert match, text
        tokens.add(match.group(1))
    assert len(tokens) == 2


async def test_onboarding_project_name(client, app):
    owner = await make_actor(app)
    r = await client.post(
        owner.url("/clients"),
        json={"name": "Acme", "currency": "EUR", "create_project": True, "project_name": "Web"},
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text
    r = await client.get(owner.url(f"/projects/{r.json()['project_id']}"), headers=owner.headers)
    assert r.json()["name"] == "Web"


async def test_onboarding_contacts_without_project(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    r = await client.post(
        owner.url("/clients"),
        json={
            "name": "Acme",
            "currency": "EUR",
            "invite_contacts": [{"name": "Ann", "email": "ann@example.com"}],
        },
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["project_id"] is None
    assert await list_ids(client, owner, "/projects") == []
    r = await client.get(owner.url("/contacts"), headers=owner.headers)
    [contact] = r.json()["data"]
    assert contact["portal_access"] is True
    await run_jobs()
    assert len(mailbox.messages) == 1
    assert PORTAL_LINK.search(mailbox.messages[0].get_body(preferencelist=("plain",)).get_content())


async def test_plain_create_has_no_project_contacts_or_mail(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    c = await new_client(client, owner)
    assert c["project_id"] is None
    assert c["contacts"] == []
    assert await list_ids(client, owner, "/projects") == []
    assert await list_ids(client, owner, "/contacts") == []
    await run_jobs()
    assert mailbox.messages == []


async def test_onboarding_bad_contact_email_leaves_nothing(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    r = await client.post(
        owner.url("/clients"),
        json={
            "name": "Acme",
            "currency": "EUR",
            "create_project": True,
            "invite_contacts": [
                {"name": "Ann", "email": "ann@example.com"},
                {"name": "Bad", "email": "not-an-email"},
            ],
        },
        headers=owner.headers,
    )
    assert_problem(r, 422, "validation_error")
    await everything_empty(client, owner)
    await run_jobs()
    assert mailbox.messages == []


@pytest.mark.parametrize("second", ["ann@example.com", "ANN@Example.com"])
async def test_onboarding_duplicate_invite_emails(client, app, mailbox, run_jobs, second):
    owner = await make_actor(app)
    r = await client.post(
        owner.url("/clients"),
        json={
            "name": "Acme",
            "currency": "EUR",
            "create_project": True,
            "invite_contacts": [
                {"name": "Ann", "email": "ann@example.com"},
                {"name": "Ann again", "email": second},
            ],
        },
        headers=owner.headers,
    )
    assert_problem(r, 422, "duplicate_contact_email")
    await everything_empty(client, owner)
    await run_jobs()
    assert mailbox.messages == []


async def test_onboarding_invite_colliding_with_existing_contact(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    r = await client.post(
        owner.url("/contacts"),
        json={"name": "Existing", "email": "taken@example.com"},
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text
    existing = r.json()["id"]

    r = await client.post(
        owner.url("/clients"),
        json={
            "name": "Acme",
            "currency": "EUR",
            "create_project": True,
            # The first invite is fine and is processed (and its mail queued) before the
            # second one collides: all of it must go.
            "invite_contacts": [
                {"name": "New", "email": "new@example.com"},
                {"name": "Taken", "email": "Taken@Example.com"},
            ],
        },
        headers=owner.headers,
    )
    assert_problem(r, 409, "contact_email_taken")
    assert await list_ids(client, owner, "/clients") == []
    assert await list_ids(client, owner, "/clients", status="archived") == []
    assert await list_ids(client, owner, "/projects") == []
    assert await list_ids(client, owner, "/contacts") == [existing]
    r = await client.get(owner.url(f"/contacts/{existing}"), headers=owner.headers)
    assert r.json()["portal_access"] is False
    assert r.json()["client_id"] is None
    await run_jobs()
    assert mailbox.messages == []


async def test_onboarding_failing_after_client_insert_rolls_back(client, app, mailbox, run_jobs):
    """A sales_rep may create clients but not projects: asking for a project fails the
    whole request, leaving neither the client nor its contacts behind."""
    owner = await make_actor(app)
    rep = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    r = await client.post(
        rep.url("/clients"),
        json={
            "name": "Acme",
            "currency": "EUR",
            "create_project": True,
            "invite_contacts": [{"name": "Ann", "email": "ann@example.com"}],
        },
        headers=rep.headers,
    )
    assert_problem(r, 403, "forbidden")
    await everything_empty(client, owner)
    await run_jobs()
    assert mailbox.messages == []
