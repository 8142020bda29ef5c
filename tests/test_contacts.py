"""Contacts and their activities: fields and validation, clients and assignees of the
team, editing and deleting, filters and pages, per-team email uniqueness, portal access,
and the activity log (kinds, order, last contacted, who may change an entry)."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app.core.permissions import Role
from tests.factories import make_actor
from tests.factories.clients import new_client
from tests.factories.contacts import (
    PORTAL_LINK,
    contact_seen_by_member,
    get_contact,
    new_activity,
    new_contact,
)
from tests.factories.projects import add_to_project
from tests.helpers import assert_problem, assert_timestamps, list_ids

MANAGERS = [Role.superadmin, Role.org_manager, Role.sales_manager]
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def at(obj: dict, key: str) -> datetime | None:
    return None if obj[key] is None else datetime.fromisoformat(obj[key])


async def walk(client, actor, path: str, limit: int = 2) -> tuple[list[dict], int]:
    """Every row of a list, following `next_cursor`; also how many pages it took."""
    rows: list[dict] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        r = await client.get(actor.url(path), params=params, headers=actor.headers)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["data"]) <= limit
        rows += page["data"]
        pages += 1
        if not page["has_more"]:
            assert page["next_cursor"] is None
            return rows, pages
        assert page["next_cursor"]
        cursor = page["next_cursor"]


def mail_text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


# ------------------------------------------------------------------ contacts CRUD


async def test_create_contact_fields_and_defaults(client, app):
    owner = await make_actor(app)
    helper = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    acme = await new_client(client, owner)
    body = {
        "name": "Ann Buyer",
        "email": "ann@acme.example.com",
        "phone": "+49 30 1234567",
        "title": "CFO",
        "client_id": acme["id"],
        "assignee_ids": [str(helper.user_id)],
    }
    r = await client.post(owner.url("/contacts"), json=body, headers=owner.headers)
    assert r.status_code == 201, r.text
    created = r.json()
    uuid.UUID(created["id"])
    for key, value in body.items():
        assert created[key] == value, key
    assert created["owner_id"] == str(owner.user_id), "owner defaults to the creator"
    assert created["portal_access"] is False
    assert_timestamps(created)
    assert await get_contact(client, owner, created["id"]) == created

    # client_id is optional; owner may be named explicitly.
    loose = await new_contact(client, owner, "Loose", owner_id=str(helper.user_id))
    assert loose["client_id"] is None
    assert loose["email"] is None
    assert loose["assignee_ids"] == []
    assert loose["owner_id"] == str(helper.user_id)


@pytest.mark.parametrize(
    "change",
    [
        {"name": ""},
        {"name": None},
        {"email": "not-an-email"},
        {"client_id": "nope"},
        {"assignee_ids": ["nope"]},
        {"surprise": 1},
    ],
    ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()),
)
async def test_create_contact_validation(client, app, change):
    owner = await make_actor(app)
    body = {k: v for k, v in {"name": "Ann", **change}.items() if v is not None}
    r = await client.post(owner.url("/contacts"), json=body, headers=owner.headers)
    assert_problem(r, 422, "validation_error")
    assert await list_ids(client, owner, "/contacts") == []


async def test_unknown_client_and_non_members(client, app):
    owner = await make_actor(app)
    stranger = await make_actor(app)
    theirs = await new_client(client, stranger, "Theirs")
    for client_id in (str(uuid.uuid4()), theirs["id"]):
        r = await client.post(
            owner.url("/contacts"),
            json={"name": "Ann", "client_id": client_id},
            headers=owner.headers,
        )
        assert_problem(r, 422, "unknown_client")
    for field, value in (
        ("owner_id", str(stranger.user_id)),
        ("assignee_ids", [str(stranger.user_id)]),
    ):
        r = await client.post(
            owner.url("/contacts"), json={"name": "Ann", field: value}, headers=owner.headers
        )
        assert_problem(r, 422, "not_team_member")
    assert await list_ids(client, owner, "/contacts") == []

    c = await new_contact(client, owner)
    r = await client.patch(
        owner.url(f"/contacts/{c['id']}"), json={"client_id": theirs["id"]}, headers=owner.headers
    )
    assert_problem(r, 422, "unknown_client")
    assert (await get_contact(client, owner, c["id"]))["client_id"] is None


async def test_patch_and_delete_contact(client, app):
    owner = await make_actor(app)
    rep = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    acme = await new_client(client, owner)
    c = await new_contact(client, owner, email="ann@example.com")

    change = {
        "name": "Ann B.",
        "email": "ann.b@example.com",
        "phone": "123",
        "title": "CEO",
        "client_id": acme["id"],
        "owner_id": str(rep.user_id),
        "assignee_ids": [str(owner.user_id)],
    }
    r = await client.patch(owner.url(f"/contacts/{c['id']}"), json=change, headers=owner.headers)
    assert r.status_code == 200, r.text
    for key, value in change.items():
        assert r.json()[key] == value, key
    assert r.json()["created_at"] == c["created_at"]
    assert at(r.json(), "updated_at") >= at(c, "updated_at")
    fetched = await get_contact(client, owner, c["id"])
    for key, value in change.items():
        assert fetched[key] == value, key

    # Detach from the client and unassign everyone; name may not be nulled.
    r = await client.patch(
        owner.url(f"/contacts/{c['id']}"),
        json={"client_id": None, "assignee_ids": []},
        headers=owner.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["client_id"] is None
    assert r.json()["assignee_ids"] == []
    assert r.json()["name"] == "Ann B."
    r = await client.patch(
        owner.url(f"/contacts/{c['id']}"), json={"name": None}, headers=owner.headers
    )
    assert_problem(r, 422)

    await new_activity(client, owner, c["id"])
    r = await client.delete(owner.url(f"/contacts/{c['id']}"), headers=owner.headers)
    assert r.status_code == 204, r.text
    assert r.content == b""
    r = await client.get(owner.url(f"/contacts/{c['id']}"), headers=owner.headers)
    assert_problem(r, 404)
    r = await client.get(owner.url(f"/contacts/{c['id']}/activities"), headers=owner.headers)
    assert_problem(r, 404)
    assert await list_ids(client, owner, "/contacts") == []
    # Its email is free again.
    await new_contact(client, owner, "Other Ann", email="ann.b@example.com")


async def test_delete_contact_who_views_a_project(client, app):
    owner = await make_actor(app)
    r = await client.post(
        owner.url("/clients"),
        json={
            "name": "Acme",
            "currency": "EUR",
            "create_project": True,
            "invite_contacts": [{"name": "Ann", "email": "ann@example.com"}],
        },
        headers=owner.headers,
    )
    assert r.status_code == 201, r.text
    [contact] = r.json()["contacts"]
    r = await client.delete(owner.url(f"/contacts/{contact['id']}"), headers=owner.headers)
    assert r.status_code == 204, r.text
    assert await list_ids(client, owner, "/contacts") == []


async def test_list_filters_client_owner_q(client, app):
    owner = await make_actor(app)
    rep = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    acme = await new_client(client, owner, "Acme")
    globex = await new_client(client, owner, "Globex")
    ann = await new_contact(
        client, owner, "Ann Archer", email="ann@acme.example.com", client_id=acme["id"]
    )
    bob = await new_contact(
        client,
        owner,
        "Bob Baker",
        email="BOB@globex.example.com",
        client_id=globex["id"],
        owner_id=str(rep.user_id),
    )
    cid = await new_contact(client, owner, "Cid 50%_off", client_id=acme["id"])
    lone = await new_contact(client, owner, "Lone Wolf")

    async def ids(**params) -> set[str]:
        return set(await list_ids(client, owner, "/contacts", **params))

    assert await ids() == {ann["id"], bob["id"], cid["id"], lone["id"]}
    assert await ids(client_id=acme["id"]) == {ann["id"], cid["id"]}
    assert await ids(client_id=globex["id"]) == {bob["id"]}
    assert await ids(client_id=str(uuid.uuid4())) == set()
    assert await ids(owner_id=str(rep.user_id)) == {bob["id"]}
    assert await ids(owner_id=str(owner.user_id)) == {ann["id"], cid["id"], lone["id"]}
    assert await ids(q="ARCHER") == {ann["id"]}, "name match is case-insensitive"
    assert await ids(q="bob@GLOBEX") == {bob["id"]}, "email match is case-insensitive"
    assert await ids(q="example.com") == {ann["id"], bob["id"]}
    assert await ids(q="%_") == {cid["id"]}, "LIKE wildcards are literal"
    assert await ids(q="zzz") == set()
    assert await ids(q="C", client_id=acme["id"], owner_id=str(owner.user_id)) == {
        ann["id"],
        cid["id"],
    }
    assert await ids(q="bob", client_id=acme["id"]) == set()
    for bad in ({"client_id": "x"}, {"owner_id": "x"}):
        r = await client.get(owner.url("/contacts"), params=bad, headers=owner.headers)
        assert_problem(r, 422, "validation_error")


async def test_list_pagination_and_updated_since(client, app):
    owner = await make_actor(app)
    created = [(await new_contact(client, owner, f"C{n}"))["id"] for n in range(5)]
    rows, pages = await walk(client, owner, "/contacts")
    assert pages == 3
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids)) == 5
    assert set(ids) == set(created)
    for row in rows:
        assert_timestamps(row)

    mark = datetime.now(UTC)
    late = await new_contact(client, owner, "Late")
    assert await list_ids(client, owner, "/contacts", updated_since=mark.isoformat()) == [
        late["id"]
    ]
    r = await client.patch(
        owner.url(f"/contacts/{created[0]}"), json={"title": "Boss"}, headers=owner.headers
    )
    assert r.status_code == 200, r.text
    assert set(await list_ids(client, owner, "/contacts", updated_since=mark.isoformat())) == {
        created[0],
        late["id"],
    }
    # Logging an activity changes the contact (last_contacted_at): it syncs too.
    later = datetime.now(UTC)
    await new_activity(client, owner, created[1])
    assert await list_ids(client, owner, "/contacts", updated_since=later.isoformat()) == [
        created[1]
    ]


# ------------------------------------------------------------------ email uniqueness


async def test_email_unique_per_team_case_insensitively(client, app):
    owner = await make_actor(app)
    other_team = await make_actor(app)
    first = await new_contact(client, owner, "Ann", email="Ann@Example.com")
    assert first["email"].lower() == "ann@example.com"

    for email in ("ann@example.com", "ANN@EXAMPLE.COM", "Ann@Example.com"):
        r = await client.post(
            owner.url("/contacts"), json={"name": "Dup", "email": email}, headers=owner.headers
        )
        assert_problem(r, 409, "contact_email_taken")
    assert await list_ids(client, owner, "/contacts") == [first["id"]]

    second = await new_contact(client, owner, "Bob", email="bob@example.com")
    r = await client.patch(
        owner.url(f"/contacts/{second['id']}"),
        json={"email": "ANN@example.com"},
        headers=owner.headers,
    )
    assert_problem(r, 409, "contact_email_taken")
    assert (await get_contact(client, owner, second["id"]))["email"] == "bob@example.com"

    # Re-saving one's own email is no conflict; contacts without email never clash.
    r = await client.patch(
        owner.url(f"/contacts/{first['id']}"),
        json={"email": "ann@example.com"},
        headers=owner.headers,
    )
    assert r.status_code == 200, r.text
    await new_contact(client, owner, "No mail 1")
    await new_contact(client, owner, "No mail 2")

    # The same address in another team is another contact.
    theirs = await new_contact(client, other_team, "Ann elsewhere", email="ann@example.com")
    assert theirs["id"] != first["id"]


# ------------------------------------------------------------------ portal access


async def test_portal_access_grant_and_revoke(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    c = await new_contact(client, owner, "Ann", email="ann@example.com")
    url = owner.url(f"/contacts/{c['id']}/portal-access")

    r = await client.post(url, headers=owner.headers)
    assert r.status_code == 200, r.text
    assert r.json()["portal_access"] is True
    assert r.json()["id"] == c["id"]
    assert (await get_contact(client, owner, c["id"]))["portal_access"] is True

    assert mailbox.messages == []
    await run_jobs()
    assert len(mailbox.messages) == 1
    assert "ann@example.com" in mailbox.messages[0]["To"]
    assert PORTAL_LINK.search(mail_text(mailbox.messages[0])), mail_text(mailbox.messages[0])

    # A contact with portal access must keep an email.
    r = await client.patch(
        owner.url(f"/contacts/{c['id']}"), json={"email": None}, headers=owner.headers
    )
    assert_problem(r, 422, "contact_email_required")

    r = await client.delete(url, headers=owner.headers)
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert (await get_contact(client, owner, c["id"]))["portal_access"] is False
    await run_jobs()
    assert len(mailbox.messages) == 1, "revoking sends nothing"

    # Granting again sends a fresh, different link.
    r = await client.post(url, headers=owner.headers)
    assert r.status_code == 200, r.text
    await run_jobs()
    assert len(mailbox.messages) == 2
    first = PORTAL_LINK.search(mail_text(mailbox.messages[0])).group(1)
    second = PORTAL_LINK.search(mail_text(mailbox.messages[1])).group(1)
    assert first != second


async def test_portal_access_needs_an_email(client, app, mailbox, run_jobs):
    owner = await make_actor(app)
    c = await new_contact(client, owner, "No mail")
    r = await client.post(owner.url(f"/contacts/{c['id']}/portal-access"), headers=owner.headers)
    assert_problem(r, 422, "contact_email_required")
    assert (await get_contact(client, owner, c["id"]))["portal_access"] is False
    await run_jobs()
    assert mailbox.messages == []


# ------------------------------------------------------------------ activities


async def test_log_activity_fields_and_kinds(client, app):
    owner = await make_actor(app)
    c = await new_contact(client, owner)
    for n, kind in enumerate(("note", "call", "email", "meeting")):
        when = T0 + timedelta(hours=n)
        a = await new_activity(client, owner, c["id"], kind=kind, body=f"b{n}", occurred_at=when)
        assert a["kind"] == kind
        assert a["body"] == f"b{n}"
        assert at(a, "occurred_at") == when
        assert a["author_id"] == str(owner.user_id)
        assert a["contact_id"] == c["id"]
        assert_timestamps(a)

    # occurred_at defaults to now.
    before = datetime.now(UTC) - timedelta(seconds=5)
    a = await new_activity(client, owner, c["id"])
    assert before <= at(a, "occurred_at") <= datetime.now(UTC) + timedelta(seconds=5)


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "fax"},
        {"kind": None},
        {"body": ""},
        {"body": None},
        {"occurred_at": "yesterday"},
        {"author_id": "00000000-0000-0000-0000-000000000000"},
    ],
    ids=lambda b: "-".join(f"{k}={v}" for k, v in b.items()),
)
async def test_log_activity_validation(client, app, bad):
    owner = await make_actor(app)
    c = await new_contact(client, owner)
    body = {k: v for k, v in {"kind": "note", "body": "x", **bad}.items() if v is not None}
    r = await client.post(
        owner.url(f"/contacts/{c['id']}/activities"), json=body, headers=owner.headers
    )
    assert_problem(r, 422, "validation_error")
    assert await list_ids(client, owner, f"/contacts/{c['id']}/activities") == []
    assert (await get_contact(client, owner, c["id"]))["last_contacted_at"] is None


async def test_occurred_at_without_offset_is_not_a_server_error(client, app):
    """API.md: timestamps are RFC 3339 *with offset*; one without must be refused (422) or
    read as UTC, never crash comparing it with the stored `last_contacted_at`."""
    owner = await make_actor(app)
    c = await new_contact(client, owner)
    await new_activity(client, owner, c["id"], occurred_at=T0)
    r = await client.post(
        owner.url(f"/contacts/{c['id']}/activities"),
        json={"kind": "note", "body": "naive", "occurred_at": "2026-03-02T10:00:00"},
        headers=owner.headers,
    )
    assert r.status_code in (201, 422), r.text


async def test_activity_list_newest_first_and_paginated(client, app):
    owner = await make_actor(app)
    c = await new_contact(client, owner)
    other = await new_contact(client, owner, "Other")
    await new_activity(client, owner, other["id"], occurred_at=T0 + timedelta(days=9))
    offsets = [3, 0, 4, 1, 4, 2]  # out of order, with a tie
    made = [
        await new_activity(client, owner, c["id"], occurred_at=T0 + timedelta(days=d), body=str(d))
        for d in offsets
    ]
    rows, pages = await walk(client, owner, f"/contacts/{c['id']}/activities", limit=2)
    assert pages == 3
    ids = [a["id"] for a in rows]
    assert len(ids) == len(set(ids)) == len(made), "no repeats, nothing skipped"
    assert set(ids) == {a["id"] for a in made}
    stamps = [at(a, "occurred_at") for a in rows]
    assert stamps == sorted(stamps, reverse=True), "newest first"
    assert [a["body"] for a in rows][:2] == ["4", "4"]
    assert rows[-1]["body"] == "0"

    # An activity inserted mid-walk (and older than the ones already seen) is not repeated.
    r = await client.get(
        owner.url(f"/contacts/{c['id']}/activities"), params={"limit": 2}, headers=owner.headers
    )
    first_page = [a["id"] for a in r.json()["data"]]
    await new_activity(client, owner, c["id"], occurred_at=T0 + timedelta(days=5))
    r = await client.get(
        owner.url(f"/contacts/{c['id']}/activities"),
        params={"limit": 50, "cursor": r.json()["next_cursor"]},
        headers=owner.headers,
    )
    assert not set(first_page) & {a["id"] for a in r.json()["data"]}

    # updated_since syncs the changed activity only.
    mark = datetime.now(UTC)
    r = await client.patch(
        owner.url(f"/contacts/{c['id']}/activities/{made[0]['id']}"),
        json={"body": "changed"},
        headers=owner.headers,
    )
    assert r.status_code == 200, r.text
    synced = await list_ids(
        client, owner, f"/contacts/{c['id']}/activities", updated_since=mark.isoformat()
    )
    assert synced == [made[0]["id"]]


async def test_last_contacted_at_only_moves_forward(client, app):
    owner = await make_actor(app)
    c = await new_contact(client, owner)
    assert c["last_contacted_at"] is None
    await new_activity(client, owner, c["id"], occurred_at=T0)
    assert at(await get_contact(client, owner, c["id"]), "last_contacted_at") == T0
    await new_activity(client, owner, c["id"], occurred_at=T0 - timedelta(days=3))
    assert at(await get_contact(client, owner, c["id"]), "last_contacted_at") == T0
    later = T0 + timedelta(days=1, minutes=30)
    await new_activity(client, owner, c["id"], kind="meeting", occurred_at=later)
    assert at(await get_contact(client, owner, c["id"]), "last_contacted_at") == later
    # A different time zone offset for the same instant is the same instant.
    same = later.astimezone(datetime.now().astimezone().tzinfo)
    await new_activity(client, owner, c["id"], occurred_at=same - timedelta(hours=1))
    assert at(await get_contact(client, owner, c["id"]), "last_contacted_at") == later


async def test_project_member_logs_activity_and_only_author_or_manager_changes_it(client, app):
    owner = await make_actor(app)
    author, contact = await contact_seen_by_member(client, app, owner)
    acme_id = contact["client_id"]
    colleague = await make_actor(app, team_id=owner.team_id, role=Role.member)
    await add_to_project(client, owner, acme_id, colleague.user_id)
    rep = await make_actor(app, team_id=owner.team_id, role=Role.sales_rep)
    r = await client.patch(
        owner.url(f"/contacts/{contact['id']}"),
        json={"owner_id": str(rep.user_id)},
        headers=owner.headers,
    )
    assert r.status_code == 200, r.text
    outsider = await make_actor(app, team_id=owner.team_id, role=Role.member)

    # Anyone who reads the contact may log; someone who cannot read it may not.
    a = await new_activity(client, author, contact["id"], kind="call", occurred_at=T0)
    assert a["author_id"] == str(author.user_id)
    r = await client.post(
        outsider.url(f"/contacts/{contact['id']}/activities"),
        json={"kind": "note", "body": "x"},
        headers=outsider.headers,
    )
    assert_problem(r, 404)

    path = f"/contacts/{contact['id']}/activities/{a['id']}"
    # Not the author and not a manager: another member, and the contact's own sales rep.
    for other in (colleague, rep):
        r = await client.patch(other.url(path), json={"body": "hijack"}, headers=other.headers)
        assert_problem(r, 403, "forbidden")
        assert_problem(await client.delete(other.url(path), headers=other.headers), 403)
    r = await client.patch(outsider.url(path), json={"body": "x"}, headers=outsider.headers)
    assert_problem(r, 404)

    r = await client.patch(
        author.url(path), json={"body": "Called back", "kind": "email"}, headers=author.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["body"] == "Called back"
    assert r.json()["kind"] == "email"
    assert r.json()["author_id"] == str(author.user_id)
    r = await client.patch(author.url(path), json={"kind": "fax"}, headers=author.headers)
    assert_problem(r, 422, "validation_error")
    r = await client.get(owner.url(f"/contacts/{contact['id']}/activities"), headers=owner.headers)
    assert [(x["id"], x["body"], x["kind"]) for x in r.json()["data"]] == [
        (a["id"], "Called back", "email")
    ]
    assert (await client.delete(author.url(path), headers=author.headers)).status_code == 204
    assert await list_ids(client, owner, f"/contacts/{contact['id']}/activities") == []


@pytest.mark.parametrize("role", MANAGERS)
async def test_managers_moderate_activities(client, app, role):
    owner = await make_actor(app)
    author, contact = await contact_seen_by_member(client, app, owner)
    manager = await make_actor(app, team_id=owner.team_id, role=role)
    a = await new_activity(client, author, contact["id"])
    path = f"/contacts/{contact['id']}/activities/{a['id']}"
    r = await client.patch(manager.url(path), json={"body": "Moderated"}, headers=manager.headers)
    assert r.status_code == 200, r.text
    assert r.json()["body"] == "Moderated"
    assert r.json()["author_id"] == str(author.user_id), "the author stays the author"
    assert (await client.delete(manager.url(path), headers=manager.headers)).status_code == 204
    assert await list_ids(client, owner, f"/contacts/{contact['id']}/activities") == []
