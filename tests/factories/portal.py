"""The client portal driven through the API: contacts with portal access who view some
projects, their emailed login links, and signed-in portal sessions."""

from dataclasses import dataclass

from tests.factories.accounts import Actor
from tests.factories.contacts import PORTAL_LINK, new_contact
from tests.helpers import bearer


@dataclass
class PortalUser:
    """A contact signed in to the portal."""

    contact_id: str
    client_id: str
    access_token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.access_token)


def mail_body(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def link_tokens(mailbox, to: str | None = None) -> list[str]:
    """The login-link tokens emailed so far (to `to` only, when given), oldest first."""
    found = []
    for message in mailbox.messages:
        if to is not None and to not in str(message["To"]):
            continue
        match = PORTAL_LINK.search(mail_body(message))
        if match:
            found.append(match.group(1))
    return found


async def add_viewer(http, actor: Actor, project_id: str, contact_id: str) -> None:
    r = await http.post(
        actor.url(f"/projects/{project_id}/viewers"),
        json={"contact_id": contact_id},
        headers=actor.headers,
    )
    assert r.status_code == 201, r.text


async def grant_portal(http, actor: Actor, contact_id: str) -> None:
    r = await http.post(actor.url(f"/contacts/{contact_id}/portal-access"), headers=actor.headers)
    assert r.status_code == 200, r.text


async def portal_contact(
    http,
    actor: Actor,
    client_id: str,
    email: str,
    *,
    views: tuple[str, ...] = (),
    name: str = "Ann",
) -> dict:
    """A contact of the client with portal access (its link queued), viewer of `views`."""
    contact = await new_contact(http, actor, name, email=email, client_id=client_id)
    for project_id in views:
        await add_viewer(http, actor, project_id, contact["id"])
    await grant_portal(http, actor, contact["id"])
    return contact


async def redeem(http, token: str):
    """The request exchanging a login-link token for a session; the response, as is."""
    return await http.post("/v1/portal/sessions", json={"token": token})


async def sign_in(http, mailbox, run_jobs, contact: dict) -> PortalUser:
    """Follow the newest login link emailed to the contact."""
    await run_jobs()
    tokens = link_tokens(mailbox, contact["email"])
    assert tokens, f"no login link for {contact['email']}"
    r = await redeem(http, tokens[-1])
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["contact"]["id"] == contact["id"]
    return PortalUser(
        contact_id=contact["id"],
        client_id=contact["client_id"],
        access_token=body["access_token"],
    )


async def request_links(http, email: str):
    """The request asking for login links; the response, as is."""
    return await http.post("/v1/portal/login-links", json={"email": email})
