"""Two teams for the contract tests: `home`, holding one of every object the team API
has, and `stranger`, another team's superadmin with an API key of its own.

`home.ids` names each object by the path segment before its id (`/clients/{client_id}`
-> `clients`), so a test can fill any team path from the OpenAPI description with real
ids: a new endpoint on a known object is covered with no change here; a new kind of
object needs one line below (`path_ids` says which).
"""

import re
import uuid
from dataclasses import dataclass, field

from app.core.permissions import Role
from tests.factories import Actor, make_actor
from tests.factories.clients import new_client_project
from tests.factories.contacts import new_activity, new_contact
from tests.factories.invoices import add_exchange_rate, manual_draft
from tests.factories.payments import open_invoice, pay
from tests.factories.projects import add_member, new_column, new_task
from tests.factories.rates import add_rate
from tests.factories.teams import create_api_key, invite
from tests.factories.time_tracking import add_entry
from tests.factories.webhooks import add_endpoint
from tests.helpers import at

# Every object's name and note carries this, so a test can tell it leaked.
MARK = "Home-only"

_PARAM = re.compile(r"/([a-z-]+)/\{([a-z_]+_id)\}")


@dataclass
class Team:
    owner: Actor
    api_key: str
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def team_id(self) -> str:
        return str(self.owner.team_id)


@dataclass
class World:
    home: Team
    stranger: Team


async def build_world(http, app) -> World:  # type: ignore[no-untyped-def]
    """`home` with one of each object (client, project and board, task and a comment on
    it, member, viewer, contact and activity, time entry, rate, exchange rate, draft and
    open invoice, payment, invitation, API key, webhook endpoint and delivery);
    `stranger` with a client and project of its own."""
    owner = await make_actor(app, name=f"{MARK} owner")
    member = await make_actor(app, team_id=owner.team_id, role=Role.member)
    client_id, project_id = await new_client_project(http, owner, f"{MARK} client")
    await add_member(http, owner, project_id, member.user_id)
    contact = await new_contact(
        http, owner, f"{MARK} contact", email="home@example.com", client_id=client_id
    )
    r = await http.post(
        owner.url(f"/projects/{project_id}/viewers"),
        json={"contact_id": contact["id"]},
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text
    activity = await new_activity(http, owner, contact["id"], body=f"{MARK} note")
    column = await new_column(http, owner, project_id, f"{MARK} column")
    task = await new_task(http, owner, project_id, f"{MARK} task")
    r = await http.post(
        owner.url(f"/projects/{project_id}/tasks/{task['id']}/comments"),
        json={"body": f"{MARK} comment", "visibility": "client"},
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text
    comment = r.json()
    await add_rate(http, owner)
    rate = await add_rate(http, owner, scope="project", project_id=project_id)
    exchange_rate = await add_exchange_rate(http, owner, "USD", "0.9")
    entry = await add_entry(http, member, project_id, at(2, 9), 3600, note=f"{MARK} entry")
    draft = await manual_draft(http, owner, client_id)
    invoice = await open_invoice(http, owner, client_id=client_id)
    payment = await pay(http, owner, invoice["id"], 1000)
    assert payment.status_code == 201, payment.text
    invitation = await invite(http, owner, "invitee@example.com")
    key = await create_api_key(http, owner, role="org_manager")
    endpoint = await add_endpoint(http, owner, description=f"{MARK} endpoint")
    ping = await http.post(
        owner.url(f"/webhook-endpoints/{endpoint['id']}/ping"), headers=owner.headers
    )
    assert ping.status_code == 202, ping.text
    home = Team(owner, key["key"])
    home.ids = {
        "teams": home.team_id,
        "members": str(member.user_id),
        "invitations": invitation["id"],
        "api-keys": key["id"],
        "clients": client_id,
        "contacts": contact["id"],
        "activities": activity["id"],
        "projects": project_id,
        "columns": column["id"],
        "tasks": task["id"],
        "comments": comment["id"],
        "viewers": contact["id"],
        "time-entries": entry["id"],
        "rates": rate["id"],
        "exchange-rates": exchange_rate["id"],
        "invoices": draft["id"],
        "lines": draft["lines"][0]["id"],
        "payments": payment.json()["id"],
        "webhook-endpoints": endpoint["id"],
        "deliveries": ping.json()["id"],
    }

    other = await make_actor(app)
    await new_client_project(http, other, "Stranger client")
    stranger_key = await create_api_key(http, other, role="org_manager")
    stranger = Team(other, stranger_key["key"])
    stranger.ids = {"teams": stranger.team_id}
    return World(home, stranger)


def path_ids(path: str) -> list[tuple[str, str]]:
    """(segment, parameter) of each id in an OpenAPI path: `/clients/{client_id}` ->
    (`clients`, `client_id`)."""
    return _PARAM.findall(path)


def fill(path: str, ids: dict[str, str], team_id: str | None = None) -> str:
    """`path` with each `{..._id}` replaced by the id of that object in `ids` (`team_id`
    instead of the team's own, if given)."""
    for segment, param in path_ids(path):
        assert segment in ids, f"{path}: add a `{segment}` object to tests/world.py build_world"
        value = team_id if segment == "teams" and team_id else ids[segment]
        path = path.replace(f"{{{param}}}", value)
    return path


def any_id() -> str:
    return str(uuid.uuid4())


# ------------------------------------------------------------------ request bodies

_ID_FIELDS = {"user": "members", "entry": "time-entries"}


def _object_id(name: str, ids: dict[str, str]) -> str | None:
    """The id for a body field named `<object>_id` (`client_id` -> the client)."""
    base = name.removesuffix("_ids").removesuffix("_id")
    return ids.get(_ID_FIELDS.get(base, f"{base}s"))


def _resolve(schema: dict, spec: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    branches = [b for b in schema.get("anyOf", []) if b != {"type": "null"}]
    return _resolve(branches[0], spec) if branches else schema


def _value(name: str, schema: dict, spec: dict, ids: dict[str, str]):  # type: ignore[no-untyped-def]
    schema = _resolve(schema, spec)
    kind, fmt = schema.get("type"), schema.get("format")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object" or "properties" in schema:
        return body_from_schema(schema, spec, ids)
    if kind == "array":
        return [_value(name, schema.get("items", {}), spec, ids)] if name.endswith("_ids") else []
    if kind == "integer" or kind == "number":
        return max(1, schema.get("minimum", 1), schema.get("exclusiveMinimum", 0) + 1)
    if kind == "boolean":
        return True
    if fmt == "uuid":
        return _object_id(name, ids) or any_id()
    special = {
        "date": "2026-03-02",
        "date-time": "2026-03-02T09:00:00Z",
        "email": "someone@example.com",
        "uri": "https://example.com/",
    }
    if fmt in special:
        return special[fmt]
    named = {"currency": "EUR", "timezone": "UTC", "password": "a long password"}
    return named.get(name, "x" * max(1, schema.get("minLength", 1)))


def body_from_schema(schema: dict, spec: dict, ids: dict[str, str]) -> dict:
    """A plausible JSON body for `schema`: its required fields, and every field naming an
    object (`client_id`, `project_ids`), filled with the ids in `ids`."""
    schema = _resolve(schema, spec)
    required = set(schema.get("required", []))
    return {
        name: _value(name, prop, spec, ids)
        for name, prop in schema.get("properties", {}).items()
        if name in required or name.endswith(("_id", "_ids"))
    }
