"""Every list endpoint reads one page of an index, never a scan or a sort of its team.

The owner's team and 24 others get rows in every table a list reads (SQL
`generate_series`: about a thousand per table for the owner's team, twelve thousand
for the others), so the planner sees tables where a scan costs more than an index. Then
every list endpoint is called over HTTP - with its common filters, its second page (the
keyset cursor) and `updated_since` - by the owner and by a member (whose visibility adds
conditions). Each SELECT the app sends is recorded and explained with its parameters
twice: as planned for those values, and as the generic plan that a prepared statement
(asyncpg caches them) may switch to after a few executions. The test fails, naming the
request and the statement, on
- a `Seq Scan` of a team table (one with a `team_id` column), in either plan;
- an index scan of a team table with no index condition: in order, but along every
  team's rows (the primary key, say) until a page of this team's is found;
- a `Sort` of more rows than a page holds in the default order: the list read every row
  its filters match (all the team's, unfiltered) instead of one page of an index.

At a million entries either is a list that takes 100-200 ms instead of under one
(`bench/scale.py`); here it is a plan that would do it.
"""

import hashlib
import json
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Uuid, event, literal, select, text

from app.core.permissions import Role
from app.core.tenancy import scope_to_team
from app.models import metadata
from tests.factories import Actor, make_actor

TEAM_TABLES = {t.name for t in metadata.sorted_tables if "team_id" in t.columns}

# Tables a list reads that are legitimately scanned whole. None today: every team table
# a list reads is seeded large enough that an index wins. (A table that only ever holds
# a few rows per team, read as a whole, would belong here, with its reason.)
SCANNED_ON_PURPOSE: dict[str, str] = {}

# The most rows a list may sort: a page (limit at most 200, plus one to know there is
# more). Sorting more means it read every row its filters match instead of one page.
MAX_SORTED = 201

# Rows per table (:n), members (:members) and time entries (:entries) of the team the
# lists are read from (team number 0: the owner's), and of each of 24 other teams whose
# rows make `team_id` as selective as with many teams in production (a generic plan
# estimates `team_id = $1` as one team in the number of distinct teams) and make lookups
# by the ids of one page - a page's boards, its projects' rates - beat a scan.
TEAM = {"first": 0, "last": 0, "n": 1000, "members": 200, "entries": 5000}
OTHERS = {"first": 1, "last": 24, "n": 500, "members": 50, "entries": 250}

# Team number t: the owner's team for 0, else a team made by the seed.
_TEAM = "CASE WHEN t = 0 THEN CAST(:team AS uuid) ELSE md5(:tag || '/team/' || t)::uuid END"
_ROWS = "generate_series(CAST(:first AS int), :last) t, generate_series(1, {count}) n"


def _id(kind: str, n: str = "n") -> str:
    """A deterministic id for row `n` of `kind` in team number t, so rows can point at
    each other without reading anything back."""
    return f"md5(:tag || '/' || t || '/{kind}/' || ({n})::text)::uuid"


# Each statement runs for the owner's team, then for the others, with :team (the
# owner's), :owner (who created the API keys) and :tag (namespaces the ids of this test).
SEED = [
    f"""INSERT INTO team (id, name) SELECT {_TEAM}, 'Other ' || t
        FROM generate_series(CAST(:first AS int), :last) t WHERE t > 0""",
    f"""INSERT INTO user_account (id, email, name)
        SELECT {_id("user")}, :tag || '-' || t || '-' || n || '@example.com', 'Member ' || n
        FROM {_ROWS.format(count=":members")}""",
    f"""INSERT INTO team_membership (team_id, user_id, role, updated_at)
        SELECT {_TEAM}, {_id("user")}, 'member', now() - n * interval '1 minute'
        FROM {_ROWS.format(count=":members")}""",
    f"""INSERT INTO client (team_id, id, name, currency, status, owner_id, updated_at)
        SELECT {_TEAM}, {_id("client")}, 'Client ' || n, 'EUR',
               CASE WHEN n % 10 = 0 THEN 'archived' ELSE 'active' END::client_status,
               {_id("user", "n % :members + 1")}, now() - n * interval '1 minute'
        FROM {_ROWS.format(count=":n")}""",
    f"""INSERT INTO client_member (team_id, client_id, user_id)
        SELECT {_TEAM}, {_id("client")}, {_id("user", "n % :members + 1")}
        FROM {_ROWS.format(count=":n")}""",
    f"""INSERT INTO contact (team_id, id, name, email, client_id, owner_id, updated_at)
        SELECT {_TEAM}, {_id("contact")}, 'Contact ' || n,
               :tag || '-c' || t || '-' || n || '@example.com',
               {_id("client", "n % 200 + 1")}, {_id("user", "n % :members + 1")},
               now() - n * interval '1 minute'
        FROM {_ROWS.format(count=":n")}""",
    f"""INSERT INTO contact_assignee (team_id, contact_id, user_id)
        SELECT {_TEAM}, {_id("contact")}, {_id("user", "n % :members + 1")}
        FROM {_ROWS.format(count=":n")}""",
    # Contact 1 has a long history; the others a few activities each.
    f"""INSERT INTO activity (team_id, id, contact_id, kind, body, occurred_at, updated_at)
        SELECT {_TEAM}, {_id("activity")},
               {_id("contact", "CASE WHEN n <= :n / 2 THEN 1 ELSE n % :n + 1 END")},
               'note', 'Note', now() - n * interval '1 hour', now() - n * interval '1 minute'
        FROM {_ROWS.format(count="2 * :n")}""",
    f"""INSERT INTO project (team_id, id, name, client_id, status, updated_at)
        SELECT {_TEAM}, {_id("project")}, 'Project ' || n, {_id("client", "n % 200 + 1")},
               CASE WHEN n % 10 = 0 THEN 'archived' ELSE 'active' END::project_status,
               now() - n * interval '1 minute'
        FROM {_ROWS.format(count=":n")}""",
    f"""INSERT INTO board (team_id, id, project_id)
        SELECT {_TEAM}, {_id("board")}, {_id("project")} FROM {_ROWS.format(count=":n")}""",
    f"""INSERT INTO board_column (team_id, id, board_id, name, kind, position)
        SELECT {_TEAM}, {_id("column")}, {_id("board")}, 'To do', 'todo', 0
        FROM {_ROWS.format(count=":n")}""",
    # Project 1 has every member, many viewers and many tasks.
    f"""INSERT INTO project_member (team_id, project_id, user_id, role, updated_at)
        SELECT {_TEAM}, {_id("project", "CASE WHEN n <= :members THEN 1 ELSE n END")},
               {_id("user", "(n - 1) % :members + 1")}, 'member', now() - n * interval '1 minute'
        FROM {_ROWS.format(count=":n")}""",
    f"""INSERT INTO project_viewer (team_id, project_id, contact_id, updated_at)
        SELECT {_TEAM}, {_id("project", "CASE WHEN n <= :n / 2 THEN 1 ELSE n END")},
               {_id("contact")}, now() - n * interval '1 minute'
        FROM {_ROWS.format(count=":n")}""",
    f"""INSERT INTO task (team_id, id, project_id, column_id, title, position, assignee_id,
                          updated_at)
        SELECT {_TEAM}, {_id("task")}, {_id("project", "CASE WHEN n <= :n / 2 THEN 1 ELSE n END")},
               {_id("column", "CASE WHEN n <= :n / 2 THEN 1 ELSE n END")}, 'Task ' || n, n,
               {_id("user", "n % :members + 1")}, now() - n * interval '1 minute'
        FROM {_ROWS.format(count=":n")}""",
    f"""INSERT INTO invoice (team_id, id, client_id, number, status, currency, pay_token,
                             created_at, updated_at)
        SELECT {_TEAM}, {_id("invoice")}, {_id("client", "n % 200 + 1")},
               CASE WHEN n % 4 = 0 THEN NULL ELSE 'INV-' || n END,
               CASE WHEN n % 4 = 0 THEN 'draft' ELSE 'open' END::invoice_status, 'EUR',
               :tag || '-pay-' || t || '-' || n, now() - n * interval '1 hour',
               now() - n * interval '1 minute'
        FROM {_ROWS.format(count=":n")}""",
    f"""INSERT INTO invoice_line (team_id, id, invoice_id, position, kind, description,
                                  unit_amount, amount, tax_rate_bps, tax_amount)
        SELECT {_TEAM}, {_id("line")}, {_id("invoice")}, 0, 'time', 'Time', 9000, 0, 0, 0
        FROM {_ROWS.format(count=":n")}""",
    # Entry n: member n % MEMBERS, an hour per slot (never overlapping); a third of them
    # invoiced on invoice n % N, a third not billable.
    f"""INSERT INTO time_entry (team_id, id, user_id, project_id, started_at, ended_at,
                                billable, invoice_id, updated_at)
        SELECT {_TEAM}, {_id("entry")}, {_id("user", "n % :members + 1")},
               {_id("project", "n % 200 + 1")}, s, s + interval '45 minutes', n % 3 <> 0,
               CASE WHEN n % 3 = 1 THEN {_id("invoice", "n % :n + 1")} END,
               now() - n * interval '1 second'
        FROM {_ROWS.format(count=":entries")},
             LATERAL (SELECT timestamptz '2026-01-01' - (n / :members) * interval '1 hour' AS s) x
    """,
    # Entry 1 was moved many times; others once.
    f"""INSERT INTO time_entry_move (team_id, id, time_entry_id, from_project_id,
                                     to_project_id, reason, updated_at)
        SELECT {_TEAM}, {_id("move")},
               {_id("entry", "CASE WHEN n <= :n / 4 THEN 1 ELSE n % :entries + 1 END")},
               {_id("project", "1")}, {_id("project", "2")}, 'Moved',
               now() - n * interval '1 minute'
        FROM {_ROWS.format(count=":n")}""",
    f"""INSERT INTO rate (team_id, id, kind, scope, user_id, hourly_rate_amount, currency,
                          effective_from, updated_at)
        SELECT {_TEAM}, {_id("rate")}, 'bill', 'member', {_id("user", "n % :members + 1")},
               9000, 'EUR', date '2000-01-01' + n, now() - n * interval '1 minute'
        FROM {_ROWS.format(count=":n")}""",
    f"""INSERT INTO exchange_rate (team_id, id, currency, rate, effective_from, updated_at)
        SELECT {_TEAM}, {_id("xrate")}, 'USD', 0.9, date '2000-01-01' + n,
               now() - n * interval '1 minute'
        FROM {_ROWS.format(count=":n")}""",
    # Invoice 1 was paid in many parts; the others once at most.
    f"""INSERT INTO payment (team_id, id, invoice_id, method, status, amount, currency,
                             exchange_rate, base_currency, base_amount, paid_at, updated_at)
        SELECT {_TEAM}, {_id("payment")},
               {_id("invoice", "CASE WHEN n <= :n / 4 THEN 1 ELSE n END")},
               CASE WHEN n % 2 = 0 THEN 'bank' ELSE 'cash' END::payment_method_used,
               'succeeded', 100, 'EUR', 1, 'EUR', 100, now() - n * interval '1 hour',
               now() - n * interval '1 minute'
        FROM {_ROWS.format(count=":n")}""",
    # Events of several kinds: the member sees the time of its projects and nothing else.
    f"""INSERT INTO event (team_id, id, type, object_type, object_id, user_id, client_id,
                           project_id, actor_type, data, created_at)
        SELECT {_TEAM}, t * 100000 + n, k.kind || '.updated', k.kind, {_id("entry")},
               {_id("user", "n % :members + 1")}, {_id("client", "n % 200 + 1")},
               {_id("project", "n % 10 + 1")}, 'system', '{{}}'::jsonb,
               now() - (:n - n) * interval '1 minute'
        FROM {_ROWS.format(count=":n")},
             LATERAL (SELECT (ARRAY['time_entry', 'client', 'invoice', 'task'])[n % 4 + 1]
                      AS kind) k""",
    f"""INSERT INTO invoice_run (team_id, id, client_id, period_start, period_end, trigger,
                                 status, created_at, updated_at)
        SELECT {_TEAM}, {_id("run")}, {_id("client", "n % 200 + 1")},
               date '2000-01-01' + n, date '2000-01-01' + n + 30, 'schedule', 'done',
               now() - n * interval '1 hour', now() - n * interval '1 minute'
        FROM {_ROWS.format(count=":n")}""",
    f"""INSERT INTO team_invitation (team_id, id, email, role, token_hash, expires_at,
                                     updated_at)
        SELECT {_TEAM}, {_id("invitation")},
               :tag || '-i' || t || '-' || n || '@example.com', 'member',
               md5(:tag || '/' || t || '/token/' || n), now() + interval '7 days',
               now() - n * interval '1 minute'
        FROM {_ROWS.format(count=":n")}""",
    f"""INSERT INTO api_key (team_id, id, created_by_id, name, role, prefix, key_hash,
                             updated_at)
        SELECT {_TEAM}, {_id("key")}, :owner, 'Key ' || n, 'member', 'hl_' || n,
               md5(:tag || '/' || t || '/key/' || n), now() - n * interval '1 minute'
        FROM {_ROWS.format(count=":n")}""",
    f"""INSERT INTO webhook_endpoint (team_id, id, url, event_types, secret_sealed, updated_at)
        SELECT {_TEAM}, {_id("endpoint")}, 'https://93.184.215.14/' || n, ARRAY['*'],
               'sealed', now() - n * interval '1 minute'
        FROM {_ROWS.format(count=":n")}""",
    # Endpoint 1 has a long delivery log; the others one delivery each.
    f"""INSERT INTO webhook_delivery (team_id, id, endpoint_id, event_id, event_type, body,
                                      job_token, updated_at)
        SELECT {_TEAM}, {_id("delivery")},
               {_id("endpoint", "CASE WHEN n <= :n / 2 THEN 1 ELSE n END")}, n::text,
               'invoice.paid', '{{}}', md5(n::text), now() - n * interval '1 minute'
        FROM {_ROWS.format(count=":n")}""",
]


@dataclass
class Seeded:
    owner: Actor
    member: Actor
    tag: str

    def id(self, kind: str, n: int) -> str:
        """The id `_id(kind, n)` gave row n of the owner's team (team number 0)."""
        digest = hashlib.md5(f"{self.tag}/0/{kind}/{n}".encode()).hexdigest()
        return str(uuid.UUID(digest))


async def _seed(app, owner: Actor) -> str:  # type: ignore[no-untyped-def]
    """The rows of the owner's team and of the others; each table is analyzed once
    filled, so the foreign-key checks of the tables filled after it plan with its size."""
    tag = uuid.uuid4().hex
    async with app.state.db.engine.begin() as conn:
        for statement in SEED:
            for sizes in (TEAM, OTHERS):
                params = {"team": owner.team_id, "owner": owner.user_id, "tag": tag, **sizes}
                await conn.execute(text(statement), params)
            await conn.execute(text(f"ANALYZE {statement.split()[2]}"))
    return tag


@pytest.fixture
async def seeded(app) -> AsyncIterator[Seeded]:  # type: ignore[no-untyped-def]
    owner = await make_actor(app)
    member = await make_actor(app, team_id=owner.team_id, role=Role.member)
    tag = await _seed(app, owner)
    async with app.state.db.engine.begin() as conn:
        # The member sees some projects (and through them, time) but not everything.
        await conn.execute(
            text(
                "INSERT INTO project_member (team_id, project_id, user_id, role)"
                " SELECT :team, md5(:tag || '/0/project/' || n)::uuid, :user, 'member'"
                " FROM generate_series(2, 6) n"
            ),
            {"team": owner.team_id, "tag": tag, "user": member.user_id},
        )
        await conn.execute(text("ANALYZE"))
    yield Seeded(owner, member, tag)
    # Emptied at once: the suite's row-by-row DELETEs would check foreign keys of tens
    # of thousands of rows (some through no index, as they would never in production).
    async with app.state.db.engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {', '.join(t.name for t in metadata.sorted_tables)}"))


def list_requests(s: Seeded) -> Iterator[tuple[Actor, str]]:
    """Every list endpoint with its common filters, as the owner and as a member."""
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat().replace("+", "%2B")
    user, client, project = s.id("user", 7), s.id("client", 7), s.id("project", 1)
    entry, invoice, contact = s.id("entry", 1), s.id("invoice", 1), s.id("contact", 1)
    column = s.id("column", 1)
    endpoint = s.id("endpoint", 1)
    paths = [
        "/api-keys",
        "/invitations",
        "/members",
        "/clients",
        "/clients?status=archived",
        f"/clients?owner_id={user}",
        "/clients?q=Client%201",
        "/contacts",
        f"/contacts?client_id={client}",
        f"/contacts?owner_id={user}",
        "/contacts?q=Contact%201",
        f"/contacts/{contact}/activities",
        "/projects",
        f"/projects?client_id={client}",
        "/projects?status=archived",
        f"/projects/{project}/members",
        f"/projects/{project}/viewers",
        f"/projects/{project}/tasks",
        f"/projects/{project}/tasks?column_id={column}",
        f"/projects/{project}/tasks?assignee_id={user}",
        "/time-entries",
        "/time-entries?from=2025-12-30&to=2025-12-31",
        "/time-entries?billable=true&invoiced=false",
        "/time-entries?invoiced=true",
        "/time-entries?billable=false",
        f"/time-entries?user_id={user}",
        f"/time-entries?project_id={project}",
        f"/time-entries?client_id={client}",
        f"/time-entries/{entry}/history",
        "/rates",
        "/rates?kind=bill",
        f"/rates?user_id={user}",
        "/invoices",
        "/invoices?status=open",
        f"/invoices?client_id={client}",
        f"/invoices/{invoice}/payments",
        "/invoice-runs",
        "/exchange-rates",
        "/payments",
        "/payments?from=2026-01-01&to=2026-12-31",
        "/payments?method=bank",
        f"/payments?client_id={client}",
        "/webhook-endpoints",
        f"/webhook-endpoints/{endpoint}/deliveries",
        "/events",
        "/events?types=time_entry.*,invoice.paid",
        "/events?after=500",
    ]
    for actor in (s.owner, s.member):
        for path in paths:
            yield actor, path
            # The same list from a given instant on (sync), in (updated_at, id) order; a
            # sync does not search text (which no index serves: it filters a page's worth).
            if "q=" not in path:
                yield actor, f"{path}{'&' if '?' in path else '?'}updated_since={since}"


@dataclass
class Sent:
    request: str
    sql: str
    params: tuple[Any, ...]


async def _record(app, client, s: Seeded) -> list[Sent]:  # type: ignore[no-untyped-def]
    """Every SELECT the app sent for the requests (and for their second pages)."""
    sent: list[Sent] = []
    current = ""
    s_owner = s.owner

    def record(_conn, _cursor, statement, parameters, _context, executemany) -> None:  # type: ignore[no-untyped-def]
        if not executemany and re.match(r"\s*(SELECT|WITH)\b", statement, re.IGNORECASE):
            sent.append(Sent(current, statement, tuple(parameters or ())))

    engine = app.state.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        for actor, path in list_requests(s):
            current = f"{actor.role.value} GET {path}"
            r = await client.get(actor.url(path), headers=actor.headers)
            if actor is not s_owner and r.status_code in (403, 404):
                continue  # a member may not read every list, or see its parent
            assert r.status_code == 200, (current, r.text)
            page = r.json()
            if actor is s_owner and "updated_since" not in path:
                assert page["data"], f"{current}: the seed left this list empty"
            if page["next_cursor"]:
                current += " (page 2)"
                sep = "&" if "?" in path else "?"
                r = await client.get(
                    actor.url(f"{path}{sep}cursor={page['next_cursor']}"), headers=actor.headers
                )
                assert r.status_code == 200, (current, r.text)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return sent


def scans(plan: dict[str, Any]) -> Iterator[str]:
    """The tables a plan reads with a sequential scan."""
    if plan.get("Node Type") == "Seq Scan":
        yield plan["Relation Name"]
    for child in plan.get("Plans", []):
        yield from scans(child)


def full_index_scans(plan: dict[str, Any]) -> Iterator[str]:
    """Tables read along a whole index (no Index Cond): in order, but through every team's
    rows until a page of this team's is found."""
    if plan.get("Node Type") in ("Index Scan", "Index Only Scan") and "Index Cond" not in plan:
        yield f"{plan['Relation Name']} along {plan['Index Name']}"
    for child in plan.get("Plans", []):
        yield from full_index_scans(child)


def relations(plan: dict[str, Any]) -> Iterator[str]:
    if "Relation Name" in plan:
        yield plan["Relation Name"]
    for child in plan.get("Plans", []):
        yield from relations(child)


def big_sorts(plan: dict[str, Any]) -> Iterator[str]:
    """Tables whose rows a plan sorts more of than a page holds: such a list reads all
    the rows its filters match (the team's, at worst), not one page of an index."""
    if plan.get("Node Type") == "Sort":
        child = plan["Plans"][0]
        if child["Plan Rows"] > MAX_SORTED:
            yield from (f"{t} ({child['Plan Rows']} rows)" for t in relations(child))
    for child in plan.get("Plans", []):
        yield from big_sorts(child)


async def _plans(app, s: Sent, team_id: uuid.UUID) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """The statement's plan for its values, then its generic plan (PREPARE + EXECUTE
    with plan_cache_mode forced generic: what a cached prepared statement may run).
    Planned as the requests ran it: confined to the team, under its row-level policies."""
    async with app.state.db.engine.connect() as conn:
        await conn.execute(select(*scope_to_team(literal(team_id, Uuid))))
        custom = await conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {s.sql}", s.params)
        plans = [_as_plan(custom.scalar_one())]
        if s.params:
            # PREPARE outlives the transaction (DEALLOCATE below); SET LOCAL does not.
            await conn.exec_driver_sql(f"PREPARE planned AS {s.sql}")
            await conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
            args = ", ".join(_literal(p) for p in s.params)
            generic = await conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) EXECUTE planned({args})")
            plans.append(_as_plan(generic.scalar_one()))
            await conn.exec_driver_sql("DEALLOCATE planned")
        await conn.rollback()
    return plans


def _literal(value: Any) -> str:
    """A parameter as an untyped SQL literal (EXECUTE's arguments cannot be bound; each
    takes the type PREPARE inferred for its parameter)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool | int):
        return str(value).lower() if isinstance(value, bool) else str(value)
    if isinstance(value, datetime):
        value = value.isoformat()
    if isinstance(value, list | tuple):
        value = "{" + ",".join(str(v) for v in value) + "}"
    return "'" + str(value).replace("'", "''") + "'"


def _as_plan(value: Any) -> dict[str, Any]:
    return (json.loads(value) if isinstance(value, str) else value)[0]["Plan"]  # type: ignore[no-any-return]


async def test_every_list_reads_an_index_not_a_scan_of_a_team_table(app, client, seeded) -> None:
    sent = await _record(app, client, seeded)
    # Each distinct statement once (every request repeats the caller's authentication).
    unique = {(s.sql, repr(s.params)): s for s in sent}.values()
    found = []
    for s in unique:
        for kind, plan in zip(
            ("custom", "generic"), await _plans(app, s, seeded.owner.team_id), strict=False
        ):
            for table in scans(plan):
                if table in TEAM_TABLES and table not in SCANNED_ON_PURPOSE:
                    found.append(f"{s.request}: Seq Scan on {table} ({kind} plan)\n  {s.sql}")
            for where in full_index_scans(plan):
                if where.split()[0] in TEAM_TABLES:
                    found.append(f"{s.request}: {where} ({kind} plan)\n  {s.sql}")
            # The default order must come from an index; sorting the rows changed since
            # an instant (a sync) is allowed (the global `updated_at` index finds them).
            for table in [] if "updated_since" in s.request else big_sorts(plan):
                found.append(f"{s.request}: Sort of {table} ({kind} plan)\n  {s.sql}")
    assert not found, f"{len(found)} plans read more than a page:\n" + "\n".join(found)
