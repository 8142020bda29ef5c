"""PATCH and null: the OpenAPI says, field by field, what the server does with an explicit
null. A field the server refuses as null (422 `field_not_nullable`) may be left out but is
not nullable in the spec; every field the spec declares nullable is accepted as null and
cleared. Checked for every PATCH body: against the models, and over HTTP."""

from typing import Any

from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

from app.cli import openapi_schema
from app.core.errors import Unprocessable
from app.core.permissions import Role
from app.core.schemas import PatchSchema
from app.routes import ROUTERS
from tests.factories import make_actor
from tests.factories.clients import new_client
from tests.factories.comments import comment
from tests.factories.contacts import new_activity, new_contact
from tests.factories.invoices import manual_draft
from tests.factories.portal import grant_portal, sign_in
from tests.factories.projects import add_member, new_column, new_project, new_task
from tests.factories.rates import add_rate
from tests.factories.time_tracking import log, start_timer
from tests.factories.webhooks import add_endpoint
from tests.helpers import assert_problem, at

SPEC = openapi_schema()


def resolve(schema: dict) -> dict:
    ref = schema.get("$ref")
    return SPEC["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else schema


def nullable(field: dict) -> bool:
    """Whether a JSON schema admits null (`type: null`, a type list with it, or a branch)."""
    kind = field.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    return any(nullable(resolve(b)) for b in field.get("anyOf", []) + field.get("oneOf", []))


def patch_bodies() -> dict[str, dict]:
    """The request body schema of every PATCH operation, by path."""
    return {
        path: resolve(ops["patch"]["requestBody"]["content"]["application/json"]["schema"])
        for path, ops in SPEC["paths"].items()
        if "patch" in ops
    }


def patch_models() -> dict[str, type[BaseModel]]:
    """The pydantic model behind every PATCH body, by path."""
    return {
        "/v1" + route.path: route.body_field.field_info.annotation  # type: ignore[union-attr]
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute) and "PATCH" in route.methods
    }


def server_takes_null(model: type[BaseModel], name: str) -> bool:
    """Whether the body `{name: null}` passes validation and `PatchSchema.changes()`."""
    try:
        body = model.model_validate({name: None})
    except ValidationError as exc:
        if any(e["loc"] == (name,) for e in exc.errors()):
            return False
        raise AssertionError(f"{model.__name__}: {exc}") from exc
    if isinstance(body, PatchSchema):
        try:
            body.changes()
        except Unprocessable:
            return False
    return True


# ------------------------------------------------------------------ the spec against the models


def test_every_patch_field_is_nullable_in_the_spec_exactly_when_the_server_takes_null():
    bodies, models = patch_bodies(), patch_models()
    assert bodies.keys() == models.keys()
    wrong = []
    for path, schema in bodies.items():
        model = models[path]
        assert schema["title"] == model.__name__, path
        not_null = getattr(model, "not_null", frozenset())
        assert not_null <= schema["properties"].keys(), (model.__name__, not_null)
        for name, field in schema["properties"].items():
            declared, taken = nullable(field), server_takes_null(model, name)
            if declared != taken:
                wrong.append(f"{model.__name__}.{name}: spec nullable={declared}, server={taken}")
            # Nor does a field that may not be null show null as its default.
            if not declared:
                assert field.get("default", "none") is not None, (model.__name__, name)
    assert wrong == []


def test_the_spec_still_describes_the_non_null_value():
    """Dropping the null branch keeps the field's own type and bounds."""
    task = patch_bodies()["/v1/teams/{team_id}/projects/{project_id}/tasks/{task_id}"]
    assert task["properties"]["title"] == {
        "maxLength": 255,
        "minLength": 1,
        "title": "Title",
        "type": "string",
    }
    assert task["properties"]["position"] == {"minimum": 0, "title": "Position", "type": "integer"}
    client = patch_bodies()["/v1/teams/{team_id}/clients/{client_id}"]
    assert client["properties"]["status"] == {"$ref": "#/components/schemas/ClientStatus"}
    assert nullable(client["properties"]["owner_id"])


# ------------------------------------------------------------------ the spec against the server


async def one_of_each(
    client, app, mailbox, run_jobs
) -> tuple[Any, dict[str, tuple[str, dict, dict[str, str]]]]:
    """A team with one object behind every PATCH endpoint, every nullable field set.

    By spec path: (the object's URL, the object as created, the headers to patch it with:
    the owner's, or a collaborator contact's for the portal's)."""
    owner = await make_actor(app)
    member = await make_actor(app, team_id=owner.team_id, role=Role.member)
    me, them = str(owner.user_id), str(member.user_id)
    acme = await new_client(
        client,
        owner,
        "Acme",
        email="billing@acme.example",
        owner_id=me,
        member_ids=[them],
        payment_methods=["bank"],
        hourly_rate_amount=9000,
        address="1 Main Street",
        tax_id="DE123",
        notes="Pays on time",
    )
    contact = await new_contact(
        client,
        owner,
        email="ann@acme.example",
        phone="+49 30 1234",
        title="CTO",
        client_id=acme["id"],
        owner_id=me,
        assignee_ids=[them],
        notes="Prefers email",
    )
    activity = await new_activity(client, owner, contact["id"])
    project = await new_project(
        client,
        owner,
        "Site",
        description="The new site",
        client_id=acme["id"],
        hourly_rate_amount=8000,
        budget_seconds=36000,
    )
    pid = project["id"]
    project_member = await add_member(client, owner, pid, member.user_id)
    column = await new_column(client, owner, pid, "Review")
    task = await new_task(
        client, owner, pid, description="Wireframes", assignee_id=them, estimate_seconds=3600
    )
    rate = await add_rate(client, owner, note="Standard")
    entry = await log(client, owner, pid, at(2, 9), at(2, 10), task_id=task["id"], note="Calls")
    # Another client's draft, so the entry above stays uninvoiced.
    other = await new_client(client, owner, "Other")
    invoice = await manual_draft(
        client, owner, other["id"], issue_date="2026-03-01", due_date="2026-03-31", notes="Thanks"
    )
    # A collaborator of its own: the contact above has its email cleared below.
    cleo = await new_contact(client, owner, "Cleo", email="cleo@acme.example", client_id=acme["id"])
    r = await client.post(
        owner.url(f"/projects/{pid}/viewers"),
        json={"contact_id": cleo["id"], "role": "collaborator"},
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text
    viewer = r.json()
    await grant_portal(client, owner, cleo["id"])
    ann = await sign_in(client, mailbox, run_jobs, cleo)
    said = await comment(client, owner, f"/projects/{pid}", "Hi", visibility="client")
    on_task = await comment(client, ann, f"/projects/{pid}/tasks/{task['id']}", "Hello")
    r = await client.post(
        ann.url(f"/projects/{pid}/tasks"), json={"title": "FAQ"}, headers=ann.headers
    )
    assert r.status_code == 201, r.text
    asked = r.json()
    # After the sign-in's jobs: its address answers nobody here.
    endpoint = await add_endpoint(client, owner, description="ERP")
    r = await client.patch(
        owner.url(), json={"bank_transfer_instructions": "IBAN XX00 0000"}, headers=owner.headers
    )
    assert r.status_code == 200, r.text
    team = r.json()
    membership = {"role": "member"}
    teams = "/v1/teams/{team_id}"
    objects = {
        teams: (owner.url(), team),
        f"{teams}/members/{{user_id}}": (owner.url(f"/members/{them}"), membership),
        f"{teams}/clients/{{client_id}}": (owner.url(f"/clients/{acme['id']}"), acme),
        f"{teams}/contacts/{{contact_id}}": (owner.url(f"/contacts/{contact['id']}"), contact),
        f"{teams}/contacts/{{contact_id}}/activities/{{activity_id}}": (
            owner.url(f"/contacts/{contact['id']}/activities/{activity['id']}"),
            activity,
        ),
        f"{teams}/projects/{{project_id}}": (owner.url(f"/projects/{pid}"), project),
        f"{teams}/projects/{{project_id}}/members/{{user_id}}": (
            owner.url(f"/projects/{pid}/members/{them}"),
            project_member,
        ),
        f"{teams}/projects/{{project_id}}/board/columns/{{column_id}}": (
            owner.url(f"/projects/{pid}/board/columns/{column['id']}"),
            column,
        ),
        f"{teams}/projects/{{project_id}}/tasks/{{task_id}}": (
            owner.url(f"/projects/{pid}/tasks/{task['id']}"),
            task,
        ),
        f"{teams}/rates/{{rate_id}}": (owner.url(f"/rates/{rate['id']}"), rate),
        f"{teams}/time-entries/{{entry_id}}": (owner.url(f"/time-entries/{entry['id']}"), entry),
        f"{teams}/invoices/{{invoice_id}}": (owner.url(f"/invoices/{invoice['id']}"), invoice),
        f"{teams}/webhook-endpoints/{{endpoint_id}}": (
            owner.url(f"/webhook-endpoints/{endpoint['id']}"),
            endpoint,
        ),
        f"{teams}/projects/{{project_id}}/viewers/{{contact_id}}": (
            owner.url(f"/projects/{pid}/viewers/{cleo['id']}"),
            viewer,
        ),
        f"{teams}/projects/{{project_id}}/comments/{{comment_id}}": (
            owner.url(f"/projects/{pid}/comments/{said['id']}"),
            said,
        ),
        f"{teams}/projects/{{project_id}}/tasks/{{task_id}}/comments/{{comment_id}}": (
            owner.url(f"/projects/{pid}/tasks/{task['id']}/comments/{on_task['id']}"),
            on_task,
        ),
        "/v1/portal/projects/{project_id}/comments/{comment_id}": (
            ann.url(f"/projects/{pid}/comments/{on_task['id']}"),
            on_task,
            ann.headers,
        ),
        "/v1/portal/projects/{project_id}/tasks/{task_id}/comments/{comment_id}": (
            ann.url(f"/projects/{pid}/tasks/{task['id']}/comments/{on_task['id']}"),
            on_task,
            ann.headers,
        ),
        "/v1/portal/projects/{project_id}/tasks/{task_id}": (
            ann.url(f"/projects/{pid}/tasks/{asked['id']}"),
            asked,
            ann.headers,
        ),
    }
    return owner, {
        path: (found[0], found[1], found[2] if len(found) > 2 else owner.headers)
        for path, found in objects.items()
    }


async def test_every_nullable_field_clears_and_every_other_null_is_refused(
    client, app, mailbox, run_jobs
):
    _, objects = await one_of_each(client, app, mailbox, run_jobs)
    bodies, models = patch_bodies(), patch_models()
    assert objects.keys() == bodies.keys(), "a PATCH endpoint without an object here"
    cleared, refused = [], []
    for path, schema in bodies.items():
        url, created, headers = objects[path]
        for name, field in sorted(schema["properties"].items()):
            r = await client.patch(url, json={name: None}, headers=headers)
            if nullable(field):
                # Set before, so the null visibly clears it.
                assert created[name] not in (None, []), (path, name, created)
                assert r.status_code == 200, (path, name, r.text)
                empty = (
                    [] if resolve(field.get("anyOf", [field])[0]).get("type") == "array" else None
                )
                assert r.json()[name] == empty, (path, name, r.json()[name])
                cleared.append(f"{schema['title']}.{name}")
            else:
                patchable = issubclass(models[path], PatchSchema)
                assert_problem(r, 422, "field_not_nullable" if patchable else "validation_error")
                refused.append(f"{schema['title']}.{name}")
    # The fields the issue names are among the refused ones, and the spec agrees.
    assert {"TimeEntryPatch.billable", "TaskPatch.title", "ActivityPatch.kind"} <= set(refused)
    assert {"TaskPatch.column_id", "TaskPatch.position", "ColumnPatch.name"} <= set(refused)
    assert {"InvoicePatch.lines", "TimeEntryPatch.ended_at"} <= set(refused)
    assert {"ClientPatch.member_ids", "ProjectPatch.client_id", "TimeEntryPatch.note"} <= set(
        cleared
    )


async def test_nulls_once_ignored_are_refused_and_change_nothing(client, app, mailbox, run_jobs):
    """Nulls the server used to skip silently (a task's column and position, a column's
    name and position, an invoice's lines, a running entry's end) are refused now, so a
    client relying on the skip hears of it instead of losing data."""
    owner, objects = await one_of_each(client, app, mailbox, run_jobs)
    teams = "/v1/teams/{team_id}"
    task_url, task, _ = objects[f"{teams}/projects/{{project_id}}/tasks/{{task_id}}"]
    r = await client.patch(
        task_url, json={"title": "Renamed", "column_id": None}, headers=owner.headers
    )
    assert_problem(r, 422, "field_not_nullable")
    r = await client.get(task_url, headers=owner.headers)
    assert (r.json()["title"], r.json()["column_id"]) == (task["title"], task["column_id"])

    invoice_url, invoice, _ = objects[f"{teams}/invoices/{{invoice_id}}"]
    r = await client.patch(
        invoice_url, json={"notes": "Changed", "lines": None}, headers=owner.headers
    )
    assert_problem(r, 422, "field_not_nullable")
    r = await client.get(invoice_url, headers=owner.headers)
    assert (r.json()["notes"], len(r.json()["lines"])) == ("Thanks", len(invoice["lines"]))

    _, project, _ = objects[f"{teams}/projects/{{project_id}}"]
    r = await start_timer(client, owner, project["id"])
    assert r.status_code == 201, r.text
    running = owner.url(f"/time-entries/{r.json()['id']}")
    r = await client.patch(running, json={"ended_at": None}, headers=owner.headers)
    assert_problem(r, 422, "field_not_nullable")
