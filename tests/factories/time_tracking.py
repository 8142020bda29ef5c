"""Time entries and the timer, driven through the API (and, for what the API cannot do
yet, the database)."""

import uuid
from datetime import datetime, timedelta

from sqlalchemy import text

from tests.factories.accounts import Actor
from tests.helpers import iso

# ------------------------------------------------------------------ entries


async def post_entry(http, actor: Actor, project_id: str, start: datetime, end: datetime, **extra):
    """The request logging [start, end) on the project; the response, whatever it is."""
    return await http.post(
        actor.url("/time-entries"),
        json={"project_id": project_id, "started_at": iso(start), "ended_at": iso(end), **extra},
        headers=actor.headers,
    )


async def log(http, actor: Actor, project_id: str, start: datetime, end: datetime, **extra) -> dict:
    """A logged entry [start, end)."""
    r = await post_entry(http, actor, project_id, start, end, **extra)
    assert r.status_code == 201, r.text
    return r.json()


async def add_entry(
    http, actor: Actor, project_id: str, start: datetime, seconds: int, **extra
) -> dict:
    """A logged entry of `seconds` from `start`."""
    fields = {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in extra.items()}
    entry = await log(http, actor, project_id, start, start + timedelta(seconds=seconds), **fields)
    assert entry["duration_seconds"] == seconds
    return entry


async def get_entry(http, actor: Actor, entry_id: str) -> dict:
    r = await http.get(actor.url(f"/time-entries/{entry_id}"), headers=actor.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def entry_count(app) -> int:
    """Every time entry in the database, of any team."""
    async with app.state.db.engine.connect() as conn:
        return (await conn.execute(text("SELECT count(*) FROM time_entry"))).scalar_one()


_MARK_INVOICED = text(
    """
    WITH e AS (
        SELECT te.team_id, p.client_id, c.currency
        FROM time_entry te
        JOIN project p ON p.team_id = te.team_id AND p.id = te.project_id
        JOIN client c ON c.team_id = p.team_id AND c.id = p.client_id
        WHERE te.id = :id
    ), inv AS (
        INSERT INTO invoice (team_id, id, client_id, currency, pay_token)
        SELECT team_id, gen_random_uuid(), client_id, currency, md5(random()::text) FROM e
        RETURNING team_id, id
    ), line AS (
        INSERT INTO invoice_line (team_id, id, invoice_id, position, kind, description,
                                  unit_amount, amount, tax_rate_bps, tax_amount, time_entry_ids)
        SELECT team_id, gen_random_uuid(), id, 0, 'time', 'test', 0, 0, 0, 0, ARRAY[:id]
        FROM inv
        RETURNING id, invoice_id
    )
    UPDATE time_entry SET invoice_id = line.invoice_id
    FROM line WHERE time_entry.id = :id
    """
)


async def mark_invoiced(app, entry_id: str) -> None:
    """Put an entry on an invoice directly in the database (there is no invoicing API yet).

    The brief's `UPDATE time_entry SET invoice_id = gen_random_uuid()` no longer passes the
    invoicing migration's foreign key, so this makes a bare draft invoice for the entry's
    client with a line listing the entry, and points the entry at the invoice.
    """
    async with app.state.db.engine.begin() as conn:
        result = await conn.execute(_MARK_INVOICED, {"id": uuid.UUID(entry_id)})
        assert result.rowcount == 1


# ------------------------------------------------------------------ the timer


async def start_timer(http, actor: Actor, project_id: str, *, switch: bool | None = None, **extra):
    """The start request (`switch` as the query flag when given); the response."""
    params = {} if switch is None else {"switch": str(switch).lower()}
    return await http.post(
        actor.url("/timer/start"),
        json={"project_id": project_id, **extra},
        params=params,
        headers=actor.headers,
    )


async def stop_timer(http, actor: Actor):
    return await http.post(actor.url("/timer/stop"), headers=actor.headers)


async def get_timer(http, actor: Actor):
    return await http.get(actor.url("/timer"), headers=actor.headers)
