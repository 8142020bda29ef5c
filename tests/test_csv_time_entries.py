"""Time entries as CSV: every matching row (not a page), the JSON list's filters and role
visibility, amounts only for roles that may read rates, the attachment's name, and
`Accept: text/csv`."""

import asyncio
import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import text

from app.core import pagination
from app.core.pagination import BATCH_SIZE
from app.core.permissions import Role
from tests.factories import make_actor
from tests.factories.projects import add_member, project_team
from tests.factories.rates import add_rate
from tests.factories.time_tracking import add_entry
from tests.helpers import at, list_all


def rows_of(r) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(r.text, newline="")))


async def get_csv(http, actor, path: str, **params):  # type: ignore[no-untyped-def]
    return await http.get(
        actor.url(path), params={"format": "csv", **params}, headers=actor.headers
    )


async def test_entries_csv_is_every_visible_row_with_money_hours_and_a_dated_filename(client, app):
    t = await project_team(client, app)
    await add_rate(client, t.owner, 12345)  # 123.45 EUR an hour
    mine = await add_entry(client, t.member, t.project_id, at(2, 9), 5400, note="=SUM(A1)")
    theirs = await add_entry(client, t.owner, t.project_id, at(2, 11), 1800, billable=False)
    r = await get_csv(
        client, t.owner, "/time-entries", **{"from": "2026-03-01", "to": "2026-03-31"}
    )
    assert (
        r.headers["content-disposition"]
        == 'attachment; filename="time-entries-2026-03-01_2026-03-31.csv"'
    )
    assert r.text.startswith("id,user_id,project_id,task_id,started_at,ended_at,")
    rows = rows_of(r)
    assert [row["id"] for row in rows] == [theirs["id"], mine["id"]]  # newest first, as JSON
    row = rows[1]
    assert row["duration_seconds"] == "5400" and row["duration_hours"] == "1.50"
    assert row["bill_rate_amount"] == "123.45"
    assert row["billable_amount"] == "185.18"  # 1.5 h x 123.45, half up
    assert row["currency"] == "EUR"
    assert row["note"] == "'=SUM(A1)"
    assert row["billable"] == "true" and row["rate_missing"] == "false"
    assert row["started_at"] == "2026-03-02T09:00:00+00:00"
    assert rows[0]["billable_amount"] == "0.00" and rows[0]["billable"] == "false"


async def test_a_member_exports_only_its_rows_and_a_role_without_rates_gets_no_amounts(client, app):
    t = await project_team(client, app)
    await add_rate(client, t.owner, 10000)
    rep = await make_actor(app, team_id=t.owner.team_id, role=Role.sales_rep)
    await add_member(client, t.owner, t.project_id, rep.user_id)
    m = await add_entry(client, t.member, t.project_id, at(2, 9), 3600)
    o = await add_entry(client, t.owner, t.project_id, at(2, 11), 3600)
    s = await add_entry(client, rep, t.project_id, at(2, 13), 3600)

    member_rows = rows_of(await get_csv(client, t.member, "/time-entries"))
    assert [row["id"] for row in member_rows] == [m["id"]]
    assert member_rows[0]["billable_amount"] == "100.00"  # a member reads its own rates

    rep_rows = rows_of(await get_csv(client, rep, "/time-entries"))
    assert [row["id"] for row in rep_rows] == [s["id"]]
    assert rep_rows[0]["bill_rate_amount"] == "" and rep_rows[0]["billable_amount"] == ""
    json_rows = (await client.get(rep.url("/time-entries"), headers=rep.headers)).json()["data"]
    assert json_rows[0]["billable_amount"] is None  # the same rule as the JSON list

    owner_ids = [row["id"] for row in rows_of(await get_csv(client, t.owner, "/time-entries"))]
    assert owner_ids == [s["id"], o["id"], m["id"]]


async def test_filters_apply_as_in_the_json_list(client, app):
    t = await project_team(client, app)
    a = await add_entry(client, t.member, t.project_id, at(2, 9), 3600)
    b = await add_entry(client, t.member, t.project_id, at(3, 9), 3600, billable=False)
    await add_entry(client, t.owner, t.project_id, at(4, 9), 3600)
    for params, expected in [
        ({"user_id": str(t.member.user_id)}, [b["id"], a["id"]]),
        ({"billable": "false"}, [b["id"]]),
        ({"to": "2026-03-02"}, [a["id"]]),
    ]:
        rows = rows_of(await get_csv(client, t.owner, "/time-entries", **params))
        assert [row["id"] for row in rows] == expected, params
        listed = await list_all(client, t.owner, "/time-entries", **params)
        assert [row["id"] for row in rows] == [e["id"] for e in listed]


async def insert_entries(app, t, count: int) -> None:  # type: ignore[no-untyped-def]
    """`count` hour-long entries of the member, one a day back from 2026-03-01 (SQL: the
    API would take a while)."""
    async with app.state.db.engine.begin() as conn:
        await conn.execute(
            text(
                """
                INSERT INTO time_entry (id, team_id, user_id, project_id, started_at, ended_at,
                                        billable, note)
                SELECT gen_random_uuid(), :team, :user, :project, s, s + interval '1 hour',
                       true, 'n' || n
                FROM generate_series(1, :count) AS n,
                     LATERAL (SELECT timestamptz '2026-03-01 08:00+00' - n * interval '1 day'
                              AS s) AS d
                """
            ),
            {
                "team": t.owner.team_id,
                "user": t.member.user_id,
                "project": t.project_id,
                "count": count,
            },
        )


async def test_every_row_is_exported_across_batches_and_beyond_any_page(client, app):
    t = await project_team(client, app)
    count = 2 * BATCH_SIZE + 7
    await insert_entries(app, t, count)
    rows = rows_of(await get_csv(client, t.owner, "/time-entries", limit=10))
    assert len(rows) == count
    assert len({row["id"] for row in rows}) == count
    starts = [row["started_at"] for row in rows]
    assert starts == sorted(starts, reverse=True)
    assert rows[0]["note"] == "n1" and rows[-1]["note"] == f"n{count}"


async def test_accept_text_csv_gives_csv_and_format_json_wins_over_it(client, app):
    t = await project_team(client, app)
    e = await add_entry(client, t.member, t.project_id, at(2, 9), 3600)
    headers = {**t.owner.headers, "Accept": "text/csv"}
    r = await client.get(t.owner.url("/time-entries"), headers=headers)
    assert [row["id"] for row in rows_of(r)] == [e["id"]]
    assert r.headers["content-disposition"] == 'attachment; filename="time-entries.csv"'
    r = await client.get(t.owner.url("/time-entries"), params={"format": "json"}, headers=headers)
    assert r.headers["content-type"] == "application/json"
    assert [row["id"] for row in r.json()["data"]] == [e["id"]]
    plain = await client.get(t.owner.url("/time-entries"), headers=t.owner.headers)
    assert plain.headers["content-type"] == "application/json"


async def test_csv_errors_are_problems_before_any_row_and_the_updated_since_filter_holds(
    client, app
):
    t = await project_team(client, app)
    r = await get_csv(client, t.owner, "/time-entries", format="xml")
    assert r.status_code == 422
    r = await client.get(t.owner.url("/time-entries"), params={"format": "csv"})
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    old = await add_entry(client, t.member, t.project_id, at(2, 9), 3600)
    async with app.state.db.engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE time_entry SET updated_at = updated_at - interval '2 days' WHERE id = :id"
            ),
            {"id": old["id"]},
        )
    new = await add_entry(client, t.member, t.project_id, at(2, 11), 3600)
    since = (at(2, 0) + timedelta(days=3650)).isoformat()
    assert rows_of(await get_csv(client, t.owner, "/time-entries", updated_since=since)) == []
    rows = rows_of(
        await get_csv(
            client,
            t.owner,
            "/time-entries",
            updated_since=(await _now(app) - timedelta(days=1)).isoformat(),
        )
    )
    assert [row["id"] for row in rows] == [new["id"]]


async def _now(app):  # type: ignore[no-untyped-def]
    async with app.state.db.engine.connect() as conn:
        return (await conn.execute(text("SELECT now()"))).scalar_one()


async def asgi_export(  # type: ignore[no-untyped-def]
    app, t, *, spec_version: str = "2.4", chunks_before_leaving: int = 10**9, on_chunk=None
) -> list[bytes]:
    """Call the app as a server would, with a client that leaves after a few chunks: by
    an `http.disconnect` message (ASGI 2.3) or a send that fails (2.4, as uvicorn does);
    `on_chunk(n)` is awaited as chunk n arrives, while the export runs."""
    bodies: list[bytes] = []
    left = asyncio.Event()
    requested: list[bool] = []

    async def receive() -> dict:
        if not requested:
            requested.append(True)
            return {"type": "http.request", "body": b"", "more_body": False}
        await left.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        if message["type"] != "http.response.body":
            return
        if on_chunk is not None:
            await on_chunk(len(bodies))
        if len(bodies) >= chunks_before_leaving:
            left.set()
            if spec_version == "2.4":
                raise OSError("connection closed")
            await asyncio.sleep(0)
        bodies.append(message["body"])

    path = t.owner.url("/time-entries")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": spec_version},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"format=csv",
        "root_path": "",
        "headers": [
            (b"host", b"test"),
            *((k.lower().encode(), v.encode()) for k, v in t.owner.headers.items()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
    }
    await asyncio.wait_for(app(scope, receive, send), 30)
    return bodies


@pytest.mark.parametrize("spec_version", ["2.3", "2.4"])
async def test_a_client_that_leaves_mid_file_ends_the_transaction_and_frees_the_connection(
    client, app, monkeypatch, spec_version
):
    monkeypatch.setattr(pagination, "BATCH_SIZE", 5)
    t = await project_team(client, app)
    await insert_entries(app, t, 200)
    pool = app.state.db.engine.pool
    bodies = await asgi_export(app, t, spec_version=spec_version, chunks_before_leaving=3)
    assert 1 < len(bodies) < 40  # the header and a few batches, not the whole file
    assert pool.checkedout() == 0
    async with app.state.db.engine.connect() as conn:
        open_transactions = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND state LIKE 'idle in transaction%'"
            )
        )
    assert open_transactions == 0
    # The app serves on: the next export is whole.
    rows = rows_of(await get_csv(client, t.owner, "/time-entries"))
    assert len(rows) == 200


async def test_the_export_is_one_snapshot_rows_changed_while_it_streams_neither_repeat_nor_vanish(
    client, app, monkeypatch
):
    monkeypatch.setattr(pagination, "BATCH_SIZE", 10)
    t = await project_team(client, app)
    await insert_entries(app, t, 100)
    before = [row["id"] for row in rows_of(await get_csv(client, t.owner, "/time-entries"))]

    async def meanwhile(n: int) -> None:
        if n != 2:  # the header and one batch are out
            return
        # Committed by another connection: the newest entry becomes the oldest, an older
        # one the newest (keyset batches would repeat one and skip the other), and a
        # new entry arrives.
        async with app.state.db.engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE time_entry SET started_at = started_at - interval '1000 days',"
                    " ended_at = ended_at - interval '1000 days' WHERE note = 'n1'"
                )
            )
            await conn.execute(
                text(
                    "UPDATE time_entry SET started_at = started_at + interval '1000 days',"
                    " ended_at = ended_at + interval '1000 days' WHERE note = 'n90'"
                )
            )
        await add_entry(client, t.member, t.project_id, at(20, 9), 600)

    body = b"".join(await asgi_export(app, t, on_chunk=meanwhile)).decode()
    rows = list(csv.DictReader(io.StringIO(body, newline="")))
    assert [row["id"] for row in rows] == before
    assert len(rows_of(await get_csv(client, t.owner, "/time-entries"))) == 101
