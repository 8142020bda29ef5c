"""Project conversations driven through the API: a client onboarded with a collaborator
and a viewer, signed in to the portal, and comments posted by either side."""

from dataclasses import dataclass

from tests.factories.accounts import Actor, make_actor
from tests.factories.clients import new_client
from tests.factories.portal import PortalUser, portal_contact, sign_in
from tests.factories.projects import new_project, new_task


async def post(http, who: Actor | PortalUser, thread: str, body: str, **extra):
    """POST a comment on `thread` (`/projects/{id}` or `/projects/{id}/tasks/{id}`) as a
    team member or a signed-in contact; the response, as is."""
    return await http.post(
        who.url(f"{thread}/comments"), json={"body": body, **extra}, headers=who.headers
    )


async def comment(http, who: Actor | PortalUser, thread: str, body: str, **extra) -> dict:
    r = await post(http, who, thread, body, **extra)
    assert r.status_code == 201, r.text
    return r.json()


async def thread_of(http, who: Actor | PortalUser, thread: str) -> list[dict]:
    r = await http.get(who.url(f"{thread}/comments"), headers=who.headers)
    assert r.status_code == 200, r.text
    return r.json()["data"]


async def set_role(http, owner: Actor, project_id: str, contact_id: str, role: str) -> dict:
    r = await http.patch(
        owner.url(f"/projects/{project_id}/viewers/{contact_id}"),
        json={"role": role},
        headers=owner.headers,
    )
    assert r.status_code == 200, r.text
    return r.json()


@dataclass
class Conversation:
    """Client Acme with projects `a` (task `task`) and `b`; `carl` collaborates on A,
    `vera` views A, `bea` collaborates on B only; each signed in to the portal."""

    owner: Actor
    client_id: str
    a: str
    b: str
    task: str
    carl: PortalUser
    vera: PortalUser
    bea: PortalUser

    @property
    def on_a(self) -> str:
        return f"/projects/{self.a}"

    @property
    def on_task(self) -> str:
        return f"/projects/{self.a}/tasks/{self.task}"


async def conversation(http, app, mailbox, run_jobs) -> Conversation:
    owner = await make_actor(app, name="Olga Owner")
    acme = await new_client(http, owner, "Acme")
    a = await new_project(http, owner, "Website", client_id=acme["id"])
    b = await new_project(http, owner, "Shop", client_id=acme["id"])
    task = await new_task(http, owner, a["id"], "Build")
    carl = await portal_contact(http, owner, acme["id"], "carl@example.com", name="Carl")
    vera = await portal_contact(
        http, owner, acme["id"], "vera@example.com", views=(a["id"],), name="Vera"
    )
    bea = await portal_contact(http, owner, acme["id"], "bea@example.com", name="Bea")
    for project, contact in ((a, carl), (b, bea)):
        r = await http.post(
            owner.url(f"/projects/{project['id']}/viewers"),
            json={"contact_id": contact["id"], "role": "collaborator"},
            headers=owner.headers,
        )
        assert r.status_code == 201, r.text
        assert r.json()["role"] == "collaborator"
    users = [await sign_in(http, mailbox, run_jobs, c) for c in (carl, vera, bea)]
    mailbox.messages.clear()
    return Conversation(owner, acme["id"], a["id"], b["id"], task["id"], *users)
