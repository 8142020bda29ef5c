"""The client portal driven through the API: contacts with portal access who view some
projects, their emailed login links, and signed-in portal sessions."""

from dataclasses import dataclass

from tests.factories.accounts import Actor, make_actor
from tests.factories.clients import new_client
from tests.factories.contacts import PORTAL_LINK, new_contact
from tests.factories.invoices import manual_draft
from tests.factories.payments import open_invoice, pay
from tests.factories.projects import get_board, move_task, new_project, new_task
from tests.factories.rates import add_rate
from tests.factories.teams import patch_team
from tests.factories.time_tracking import add_entry
from tests.helpers import bearer, utc


@dataclass
class PortalUser:
    """A contact signed in to the portal."""

    contact_id: str
    client_id: str
    access_token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.access_token)

    def url(self, path: str = "") -> str:
        return f"/v1/portal{path}"


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


@dataclass
class PortalScene:
    """A team in New York with client Acme: projects `seen` (the contact views it: a
    budget, three tasks one of them done, two entries with rates and costs in force) and
    `unseen` (same client, not viewed: one entry); a draft, an open, a paid and a void
    invoice; and `user`, the contact signed in."""

    owner: Actor
    user: PortalUser
    client_id: str
    seen: str
    unseen: str
    tasks: list[str]
    entries: list[str]
    unseen_entry: str
    invoices: dict[str, str]


async def portal_scene(http, app, mailbox, run_jobs) -> PortalScene:
    owner = await make_actor(app, name="Olga Owner")
    await patch_team(http, owner, timezone="America/New_York")
    acme = await new_client(
        http, owner, "Acme", payment_methods=["stripe", "crypto", "bank"], hourly_rate_amount=9000
    )
    seen = await new_project(
        http, owner, "Website", client_id=acme["id"], budget_seconds=36000, hourly_rate_amount=12000
    )
    unseen = await new_project(http, owner, "Internal audit", client_id=acme["id"])
    await add_rate(http, owner, 4000, kind="cost", scope="member", user_id=owner.user_id)
    board = await get_board(http, owner, seen["id"])
    done = next(c for c in board["columns"] if c["kind"] == "done")
    tasks = [
        (await new_task(http, owner, seen["id"], title, description="internal: check margins"))[
            "id"
        ]
        for title in ("Wireframes", "Build", "Launch")
    ]
    r = await move_task(http, owner, seen["id"], tasks[0], done["id"], 0)
    assert r.status_code == 200, r.text
    entries = [
        (await add_entry(http, owner, seen["id"], utc(2026, 3, 2, 3), 3600, note="Design"))["id"],
        (await add_entry(http, owner, seen["id"], utc(2026, 3, 3, 15), 1800, note="Build"))["id"],
    ]
    unseen_entry = (await add_entry(http, owner, unseen["id"], utc(2026, 3, 4, 15), 600))["id"]
    ann = await portal_contact(http, owner, acme["id"], "ann@example.com", views=(seen["id"],))
    user = await sign_in(http, mailbox, run_jobs, ann)
    draft = await manual_draft(http, owner, acme["id"], 5000, notes="internal: discount?")
    opened = await open_invoice(http, owner, client_id=acme["id"], amount=10000)
    paid = await open_invoice(http, owner, client_id=acme["id"], amount=2000)
    assert (await pay(http, owner, paid["id"], 2000)).status_code == 201
    voided = await open_invoice(http, owner, client_id=acme["id"], amount=3000)
    r = await http.post(owner.url(f"/invoices/{voided['id']}/void"), headers=owner.headers)
    assert r.status_code == 200, r.text
    return PortalScene(
        owner=owner,
        user=user,
        client_id=acme["id"],
        seen=seen["id"],
        unseen=unseen["id"],
        tasks=tasks,
        entries=entries,
        unseen_entry=unseen_entry,
        invoices={
            "draft": draft["id"],
            "open": opened["id"],
            "paid": paid["id"],
            "void": voided["id"],
        },
    )
