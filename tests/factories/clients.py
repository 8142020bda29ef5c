"""Clients, made through the API (and onboarding: a client with its project and contacts)."""

from collections.abc import Sequence

from tests.factories.accounts import Actor


async def new_client(http, actor: Actor, name: str = "Acme", **fields) -> dict:
    """A client in EUR (unless `currency` says otherwise), as the API returns it."""
    body = {"name": name, "currency": "EUR", **fields}
    r = await http.post(actor.url("/clients"), json=body, headers=actor.headers)
    assert r.status_code == 201, r.text
    return r.json()


async def new_client_project(
    http,
    actor: Actor,
    name: str = "Acme",
    currency: str = "EUR",
    *,
    contacts: Sequence[tuple[str, str]] = (),
    project_name: str | None = None,
    billing_contacts: bool = False,
    **extra,
) -> tuple[str, str]:
    """(client_id, project_id) of a new client created with its project, inviting
    `contacts` ((name, email) pairs) to the client portal (as its billing contacts with
    `billing_contacts`)."""
    body = {
        "name": name,
        "currency": currency,
        "create_project": True,
        "invite_contacts": [
            {"name": n, "email": e, "billing_contact": billing_contacts} for n, e in contacts
        ],
        **extra,
    }
    if project_name:
        body["project_name"] = project_name
    r = await http.post(actor.url("/clients"), json=body, headers=actor.headers)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["project_id"], created
    return created["id"], created["project_id"]
