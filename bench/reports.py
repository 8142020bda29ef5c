"""Reports at the scale of a busy agency, each next to a hand-written SQL baseline.

Loads one team (Europe/Berlin, base EUR) with 1,000,000 time entries over two years, 20
users, 200 clients (20 of them billed in USD), 1,000 projects, bill rates of every scope
with changes over time, cost rates, monthly USD exchange rates, and one open invoice per
client, half paid, covering the billable time before 2026-09-01 (so "uninvoiced" is the
last three months). Everything is SQL `generate_series`, loaded the way bulk loads are:
triggers and foreign-key checks off (`session_replication_role = replica`: the generated
rows are consistent and never overlap, and the reports do not read the no-overlap
spans), the entries' secondary indexes built after the rows. On BENCH_DATABASE_URL /
BENCH_REDIS_URL, else embedded services.

Then, for each report, `--warmup` untimed runs of both sides (default 3: the app builds,
compiles and prepares a statement shape once per process, asyncpg prepares the
baseline's once per connection), and `--repeat` times, alternating: each report through
the API (the request handed to the app's ASGI callable as a server hands it over,
`harness.asgi_get`: the whole app, auth, the role's scope under row-level security, the
SQL, JSON; no HTTP client) and its baseline, a hand-written SQL statement computing the
same figures another way (its own validity ranges over the rate history, on a superuser
connection with the settings the app gives a report's transaction: work_mem 64MB, no
JIT). Both must give equal figures; the medians and their ratio are printed:

    .venv/bin/python bench/reports.py [--repeat 5] [--reuse] [--warmup 3]

`--reuse` measures the data a previous run loaded (no wipe, no load).
"""

import argparse
import asyncio
import statistics
import time
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from harness import asgi_get, bench_app, served, services  # bench/harness.py
from sqlalchemy.engine import make_url

from app.accounts import service as accounts_service
from app.core.db import unit_of_work
from app.teams import service as teams_service

GOAL_RATIO = 1.5
GOAL_WEEK_S = 1.0
YEAR = ("2025-12-01", "2026-11-30")
TZ = "Europe/Berlin"

LOAD = [
    """INSERT INTO user_account (id, email, name)
       SELECT gen_random_uuid(), 'bench-m' || i || '@example.com',
              'Member ' || lpad(i::text, 2, '0')
       FROM generate_series(1, 19) i""",
    """INSERT INTO team_membership (team_id, user_id, role)
       SELECT $1, id, 'member'::team_role FROM user_account WHERE email LIKE 'bench-m%'""",
    """INSERT INTO client (id, team_id, name, currency)
       SELECT gen_random_uuid(), $1, 'Client ' || lpad(i::text, 3, '0'),
              CASE WHEN i % 10 = 0 THEN 'USD' ELSE 'EUR' END
       FROM generate_series(1, 200) i""",
    # Five projects a client; every fourth has its own (undated) rate.
    """INSERT INTO project (id, team_id, client_id, name, hourly_rate_amount)
       SELECT gen_random_uuid(), $1, c.id, c.name || ' / P' || j,
              CASE WHEN j = 4 THEN 8000 + j * 100 END
       FROM client c CROSS JOIN generate_series(1, 5) j WHERE c.team_id = $1""",
    # Bill: team EUR (a raise in 2025), client USD, dated project rates (300 projects, a
    # change each), member rates (10 users), project-member rates (40 pairs).
    """INSERT INTO rate (id, team_id, kind, scope, hourly_rate_amount, currency, effective_from)
       VALUES (gen_random_uuid(), $1, 'bill', 'team', 9000, 'EUR', '2024-01-01'),
              (gen_random_uuid(), $1, 'bill', 'team', 9500, 'EUR', '2025-06-01')""",
    """INSERT INTO rate (id, team_id, kind, scope, client_id, hourly_rate_amount, currency,
                         effective_from)
       SELECT gen_random_uuid(), $1, 'bill'::rate_kind, 'client'::rate_scope, id, 11000,
              'USD', '2024-01-01'
       FROM client WHERE team_id = $1 AND currency = 'USD'""",
    """INSERT INTO rate (id, team_id, kind, scope, project_id, hourly_rate_amount, currency,
                         effective_from)
       SELECT gen_random_uuid(), $1, 'bill'::rate_kind, 'project'::rate_scope, p.id,
              10000 + (n % 7) * 500 + d.bump, c.currency, d.since
       FROM (SELECT p.*, row_number() OVER (ORDER BY p.name) n FROM project p
             WHERE p.team_id = $1) p
       JOIN client c ON c.team_id = p.team_id AND c.id = p.client_id
       CROSS JOIN (VALUES (DATE '2024-06-01', 0), (DATE '2026-02-15', 700)) d(since, bump)
       WHERE n % 10 < 3""",
    """INSERT INTO rate (id, team_id, kind, scope, user_id, hourly_rate_amount, currency,
                         effective_from)
       SELECT gen_random_uuid(), $1, k, 'member'::rate_scope, m.user_id,
              CASE k WHEN 'bill'::rate_kind THEN 12000 ELSE 4000 + n * 100 END, 'EUR', d
       FROM (SELECT user_id, row_number() OVER (ORDER BY user_id) n FROM team_membership
             WHERE team_id = $1) m
       CROSS JOIN (VALUES ('bill'::rate_kind), ('cost'::rate_kind)) kinds(k)
       CROSS JOIN (VALUES (DATE '2024-01-01'), (DATE '2025-07-01')) ds(d)
       WHERE k = 'cost' OR n <= 10""",
    """INSERT INTO rate (id, team_id, kind, scope, hourly_rate_amount, currency, effective_from)
       VALUES (gen_random_uuid(), $1, 'cost', 'team', 3000, 'EUR', '2024-01-01')""",
    """INSERT INTO rate (id, team_id, kind, scope, user_id, project_id, hourly_rate_amount,
                         currency, effective_from)
       SELECT gen_random_uuid(), $1, 'bill'::rate_kind, 'project_member'::rate_scope,
              u.user_id, p.id, 15000, c.currency, DATE '2025-03-01'
       FROM (SELECT user_id, row_number() OVER (ORDER BY user_id) - 1 n FROM team_membership
             WHERE team_id = $1) u
       JOIN (SELECT p.*, row_number() OVER (ORDER BY p.name) - 1 n FROM project p
             WHERE p.team_id = $1) p ON p.n IN (u.n * 50, u.n * 50 + 2)
       JOIN client c ON c.team_id = p.team_id AND c.id = p.client_id""",
    """INSERT INTO exchange_rate (id, team_id, currency, rate, effective_from)
       SELECT gen_random_uuid(), $1, 'USD', 0.85 + (i % 7) * 0.01,
              DATE '2024-11-01' + make_interval(months => i)
       FROM generate_series(0, 25) i""",
    # One open invoice a client, for everything logged before 2026-09-01.
    """INSERT INTO invoice (id, team_id, client_id, number, status, currency, issue_date,
                            due_date, subtotal_amount, tax_amount, total_amount, exchange_rate,
                            base_currency, pay_token, finalized_at)
       SELECT gen_random_uuid(), $1, c.id, 'INV-' || lpad(row_number() OVER ()::text, 4, '0'),
              'open'::invoice_status, c.currency, DATE '2026-09-01', DATE '2026-09-15',
              1000000, 200000, 1200000, CASE c.currency WHEN 'USD' THEN 0.9 ELSE 1 END, 'EUR',
              md5(c.id::text), now()
       FROM client c WHERE c.team_id = $1""",
    # Half of each paid on 2026-10-01, at the invoice's rate.
    """INSERT INTO payment (id, team_id, invoice_id, method, status, amount, currency,
                            exchange_rate, base_currency, base_amount, paid_at)
       SELECT gen_random_uuid(), $1, id, 'bank'::payment_method_used, 'succeeded'::payment_status,
              600000, currency, exchange_rate,
              'EUR', round(600000 * exchange_rate), TIMESTAMPTZ '2026-10-01 10:00+00'
       FROM invoice WHERE team_id = $1""",
    "UPDATE invoice SET amount_paid = 600000 WHERE team_id = $1",
    # 50,000 entries a member in 21-minute slots (never overlapping), 5 to 20 minutes
    # each; a member stays ~9 hours on a project of its 50 before the next; 4 in 5
    # billable; billable time before 2026-09-01 is on its client's invoice.
    """INSERT INTO time_entry (id, team_id, user_id, project_id, started_at, ended_at, billable,
                            invoice_id)
       WITH p AS (
           SELECT array_agg(p.id ORDER BY p.name) AS ids,
                  array_agg(i.id ORDER BY p.name) AS invoices
           FROM project p JOIN invoice i ON i.team_id = p.team_id AND i.client_id = p.client_id
           WHERE p.team_id = $1),
       u AS (
           SELECT user_id, row_number() OVER (ORDER BY user_id) - 1 AS n
           FROM team_membership WHERE team_id = $1),
       s AS (
           SELECT u.user_id, u.n, k, (u.n * 50 + (k / 25) % 50) % 1000 + 1 AS project,
                  TIMESTAMPTZ '2024-12-01 00:00+00' + make_interval(secs => k * 1261 + u.n * 7)
                      AS at,
                  make_interval(secs => 300 + (k * 7919 + u.n * 104729) % 900) AS len
           FROM u CROSS JOIN generate_series(0, 49999) k)
       SELECT ('00000000-0000-7000-8000-' || lpad(to_hex(s.n * 100000 + s.k), 12, '0'))::uuid,
              $1, s.user_id, p.ids[s.project], s.at, s.at + s.len, s.k % 5 <> 0,
              CASE WHEN s.k % 5 <> 0 AND s.at < '2026-09-01' THEN p.invoices[s.project] END
       FROM s CROSS JOIN p ORDER BY s.n, s.k""",
]

# ---------------------------------------------------------------- the baselines

# The rate history as validity ranges: [effective_from, the next row's date) per key
# (inlined into each join, so each scope's few rows are hashed once).
PERIODS = """
periods AS NOT MATERIALIZED (
    SELECT kind, scope, user_id, client_id, project_id, currency, hourly_rate_amount AS amount,
           effective_from AS since,
           coalesce(lead(effective_from) OVER (
               PARTITION BY kind, scope, user_id, client_id, project_id, currency
               ORDER BY effective_from), 'infinity') AS until
    FROM rate WHERE team_id = $1),
fx AS NOT MATERIALIZED (
    SELECT currency, rate,
           effective_from AS since,
           coalesce(lead(effective_from) OVER (PARTITION BY currency ORDER BY effective_from),
                    'infinity') AS until
    FROM exchange_rate WHERE team_id = $1)"""

PRICED = """
x AS (
    SELECT e.*, p.client_id, coalesce(c.currency, 'EUR') AS cur,
           p.hourly_rate_amount AS prate, c.hourly_rate_amount AS crate
    FROM e JOIN project p ON p.team_id = $1 AND p.id = e.project_id
    LEFT JOIN client c ON c.team_id = $1 AND c.id = p.client_id),
priced AS (
    SELECT x.*,
           coalesce(pm.amount, pr.amount, x.prate, cl.amount, x.crate, me.amount, tm.amount)
               AS rate,
           CASE WHEN x.cur = 'EUR' THEN 1 ELSE f.rate END AS fx,
           coalesce(mc.amount, tc.amount) AS cost
    FROM x
    LEFT JOIN periods pm ON pm.kind = 'bill' AND pm.scope = 'project_member'
         AND pm.user_id = x.user_id AND pm.project_id = x.project_id AND pm.currency = x.cur
         AND x.day >= pm.since AND x.day < pm.until
    LEFT JOIN periods pr ON pr.kind = 'bill' AND pr.scope = 'project'
         AND pr.project_id = x.project_id AND pr.currency = x.cur
         AND x.day >= pr.since AND x.day < pr.until
    LEFT JOIN periods cl ON cl.kind = 'bill' AND cl.scope = 'client'
         AND cl.client_id = x.client_id AND cl.currency = x.cur
         AND x.day >= cl.since AND x.day < cl.until
    LEFT JOIN periods me ON me.kind = 'bill' AND me.scope = 'member'
         AND me.user_id = x.user_id AND me.currency = x.cur
         AND x.day >= me.since AND x.day < me.until
    LEFT JOIN periods tm ON tm.kind = 'bill' AND tm.scope = 'team' AND tm.currency = x.cur
         AND x.day >= tm.since AND x.day < tm.until
    LEFT JOIN fx f ON f.currency = x.cur AND {fx_day} >= f.since AND {fx_day} < f.until
    LEFT JOIN periods mc ON mc.kind = 'cost' AND mc.scope = 'member'
         AND mc.user_id = x.user_id AND mc.currency = 'EUR'
         AND x.day >= mc.since AND x.day < mc.until
    LEFT JOIN periods tc ON tc.kind = 'cost' AND tc.scope = 'team' AND tc.currency = 'EUR'
         AND x.day >= tc.since AND x.day < tc.until)"""

# Entries of a period per member, project and local day (USD and EUR both have two
# decimals, so no exponent scaling is needed here).
DAYS = """
e AS (
    SELECT user_id, project_id, (started_at AT TIME ZONE '{tz}')::date AS day,
           sum(duration_seconds) AS s, sum(duration_seconds) FILTER (WHERE billable) AS b
    FROM time_entry
    WHERE team_id = $1 AND ended_at IS NOT NULL {where}
    GROUP BY 1, 2, 3)"""

FIGURES = """
    sum(s)::bigint AS seconds, coalesce(sum(b), 0)::bigint AS billable_seconds,
    round(coalesce(sum(b * rate * fx), 0) / 3600)::bigint AS billable_amount,
    round(coalesce(sum(s * cost), 0) / 3600)::bigint AS cost_amount"""


def time_sql(key: str) -> str:
    period = "AND started_at >= $2 AND started_at < $3"
    return (
        f"WITH {PERIODS},{DAYS.format(tz=TZ, where=period)},{PRICED.format(fx_day='x.day')}"
        f" SELECT {key} AS key, {FIGURES} FROM priced GROUP BY 1"
    )


UNINVOICED_SQL = (
    f"WITH {PERIODS},"
    + DAYS.format(tz=TZ, where="AND billable IS TRUE AND invoice_id IS NULL")
    + ","
    + PRICED.format(fx_day="$2::date")
    + """ SELECT project_id AS key, sum(b)::bigint AS seconds,
             round(sum(b * rate) / 3600)::bigint AS amount,
             round(sum(b * rate * fx) / 3600)::bigint AS base_amount, min(day) AS oldest
      FROM priced GROUP BY 1"""
)

CLIENT_SQL = (
    f"WITH {PERIODS},"
    + DAYS.format(
        tz=TZ,
        where="AND started_at >= $2 AND started_at < $3 AND project_id IN "
        "(SELECT id FROM project WHERE team_id = $1 AND client_id = $4)",
    )
    + ","
    + PRICED.format(fx_day="x.day")
    + f""" SELECT {FIGURES},
        (SELECT coalesce(sum(round((total_amount - tax_amount) * exchange_rate)), 0)::bigint
         FROM invoice WHERE team_id = $1 AND client_id = $4 AND status IN ('open', 'paid')
           AND issue_date BETWEEN $5 AND $6) AS revenue_amount,
        (SELECT coalesce(sum(p.base_amount - round(p.refunded_amount * p.exchange_rate)), 0)
                ::bigint
         FROM payment p JOIN invoice i ON i.team_id = p.team_id AND i.id = p.invoice_id
         WHERE p.team_id = $1 AND i.client_id = $4 AND p.status = 'succeeded'
           AND p.paid_at >= $2 AND p.paid_at < $3) AS paid_amount,
        (SELECT coalesce(sum(round((total_amount - amount_paid) * exchange_rate)), 0)::bigint
         FROM invoice WHERE team_id = $1 AND client_id = $4 AND status = 'open'
           AND issue_date BETWEEN $5 AND $6) AS outstanding_amount
      FROM priced"""
)


async def load(conn: asyncpg.Connection, team_id: Any) -> None:
    """Run LOAD with the entries' secondary indexes dropped, then built again (a bulk
    load's usual order: one sort per index instead of a million random insertions)."""
    secondary = await conn.fetch(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i"
        " LEFT JOIN pg_constraint c ON c.conname = i.indexname"
        " WHERE i.tablename = 'time_entry' AND c.conname IS NULL"
        " AND i.indexdef NOT LIKE 'CREATE UNIQUE%'"
    )
    # No triggers while loading, foreign-key checks included (the rows are consistent by
    # construction): the no-overlap spans are not needed by reports either.
    await conn.execute("SET session_replication_role = replica")
    for index in secondary:
        await conn.execute(f'DROP INDEX "{index["indexname"]}"')
    try:
        for statement in LOAD:
            began = time.perf_counter()
            status = await conn.execute(statement, *([team_id] if "$1" in statement else []))
            print(f"  {status:<24} {time.perf_counter() - began:6.1f} s", flush=True)
    finally:
        await conn.execute("SET session_replication_role = DEFAULT")
        began = time.perf_counter()
        await conn.execute("SET maintenance_work_mem = '256MB'")
        for index in secondary:
            await conn.execute(index["indexdef"])
        print(f"  {len(secondary)} indexes rebuilt      {time.perf_counter() - began:6.1f} s")
    began = time.perf_counter()
    await conn.execute("VACUUM ANALYZE")
    print(f"  vacuum analyze           {time.perf_counter() - began:6.1f} s", flush=True)


async def owner_token(app: Any) -> tuple[Any, str]:
    """A new team in Berlin (or the loaded one with --reuse) and its owner's token."""
    async with unit_of_work(app.state.db, app.state.redis) as session:
        user = await accounts_service.create_user(
            session,
            app.state.secrets,
            email=f"bench-owner-{time.time_ns()}@example.com",
            name="Owner",
            password="bench-password",
        )
        team = await teams_service.create_team(
            session, owner_id=user.id, name="Agency", base_currency="EUR", timezone=TZ
        )
        tokens = await accounts_service.start_session(
            session, app.state.secrets, app.state.settings, user.id
        )
    return team.id, tokens.access_token


async def adopt(conn: asyncpg.Connection, app: Any) -> tuple[Any, str]:
    """With --reuse: a fresh owner made superadmin of the loaded team."""
    loaded = await conn.fetchval("SELECT team_id FROM time_entry LIMIT 1")
    team_id, token = await owner_token(app)
    user = await conn.fetchval("SELECT user_id FROM team_membership WHERE team_id = $1", team_id)
    await conn.execute(
        "INSERT INTO team_membership (team_id, user_id, role) VALUES ($1, $2, 'superadmin')",
        loaded,
        user,
    )
    return loaded, token


def _bounds(first: str, last: str) -> tuple[Any, Any]:
    """The half-open instants of local days `first`..`last` in Berlin."""
    tz = ZoneInfo(TZ)
    a, b = date.fromisoformat(first), date.fromisoformat(last) + timedelta(days=1)
    return datetime(a.year, a.month, a.day, tzinfo=tz), datetime(b.year, b.month, b.day, tzinfo=tz)


def api_rows(body: dict[str, Any], fields: tuple[str, ...], key: str = "key") -> dict[str, tuple]:  # type: ignore[type-arg]
    return {str(r[key]): tuple(r[f] for f in fields) for r in body["rows"]}


def sql_rows(rows: list[asyncpg.Record], fields: tuple[str, ...]) -> dict[str, tuple]:  # type: ignore[type-arg]
    return {str(r["key"]): tuple(r[f] for f in fields) for r in rows}


async def main(repeat: int, reuse: bool, warmup: int) -> None:
    async with services(wipe=not reuse) as (db_url, redis_url, home):
        pg_url = make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)
        conn = await asyncpg.connect(pg_url)
        # The settings the app gives its report transactions (app/reports/time_figures.py).
        await conn.execute("SET work_mem = '64MB'; SET jit = off")
        async with served(bench_app(db_url, redis_url, home)) as app:
            if reuse:
                team_id, token = await adopt(conn, app)
            else:
                team_id, token = await owner_token(app)
                began = time.perf_counter()
                await load(conn, team_id)
                print(f"loaded in {time.perf_counter() - began:.1f} s")
            n = await conn.fetchval("SELECT count(*) FROM time_entry WHERE team_id = $1", team_id)
            print(f"{n:,} entries")
            client_id = await conn.fetchval(
                "SELECT id FROM client WHERE team_id = $1 AND currency = 'USD' ORDER BY name",
                team_id,
            )
            today = await conn.fetchval(f"SELECT (now() AT TIME ZONE '{TZ}')::date")
            since, until = _bounds(*YEAR)
            headers = {"Authorization": f"Bearer {token}"}
            base = f"/v1/teams/{team_id}/reports"
            year = {"from": YEAR[0], "to": YEAR[1]}
            money = ("seconds", "billable_seconds", "billable_amount", "cost_amount")
            cases: list[tuple[str, str, dict[str, str], str, tuple[Any, ...], Any]] = [
                (
                    f"time by {g} (a year)",
                    "/time",
                    {"group_by": g, **year},
                    time_sql(k),
                    (team_id, since, until),
                    money,
                )
                for g, k in (
                    ("client", "client_id"),
                    ("user", "user_id"),
                    ("week", "date_trunc('week', day)::date"),
                )
            ]
            cases.append(
                (
                    "uninvoiced",
                    "/uninvoiced",
                    {},
                    UNINVOICED_SQL,
                    (team_id, today),
                    ("seconds", "amount", "base_amount"),
                )
            )
            cases.append(
                (
                    "one client's profitability",
                    f"/clients/{client_id}",
                    year,
                    CLIENT_SQL,
                    (team_id, since, until, client_id, *map(_iso, YEAR)),
                    (*money, "revenue_amount", "paid_amount", "outstanding_amount"),
                )
            )
            print(f"\nmedian of {repeat} runs (s); sql = the hand-written baseline on asyncpg")
            print(f"{'report':<28} {'rows':>5} {'api':>7} {'sql':>7} {'api/sql':>8}  goal")
            floor = []
            for _ in range(max(repeat, 5)):
                began = time.perf_counter()
                r = await asgi_get(app, f"/v1/teams/{team_id}", headers=headers)
                floor.append(time.perf_counter() - began)
                assert r.status_code == 200, r.text
            print(f"{'(GET the team: the floor)':<28} {'':>5} {statistics.median(floor):>7.3f}")
            for name, path, params, sql, args, fields in cases:
                # Both sides warmed first, untimed: the app builds, compiles and prepares a
                # statement shape once per process, asyncpg prepares the baseline's once
                # per connection, and PostgreSQL plans both; the runs measure what every
                # later request costs.
                for _ in range(warmup):
                    await asgi_get(app, base + path, params=params, headers=headers)
                    await conn.fetch(sql, *args)
                api_s, sql_s = [], []
                for _ in range(repeat):
                    began = time.perf_counter()
                    r = await asgi_get(app, base + path, params=params, headers=headers)
                    api_s.append(time.perf_counter() - began)
                    assert r.status_code == 200, r.text
                    began = time.perf_counter()
                    rows = await conn.fetch(sql, *args)
                    sql_s.append(time.perf_counter() - began)
                body = r.json()
                if path.startswith("/clients/"):
                    got = {"-": tuple(body[f] for f in fields)}
                    want = {"-": tuple(rows[0][f] for f in fields)}
                elif path == "/uninvoiced":
                    got = api_rows(body, fields, "project_id")
                    want = sql_rows(rows, fields)
                else:
                    got, want = api_rows(body, fields), sql_rows(rows, fields)
                assert got == want, (name, _diff(got, want))
                a, s = statistics.median(api_s), statistics.median(sql_s)
                goal = a <= GOAL_RATIO * s and ("week" not in name or a < GOAL_WEEK_S)
                print(
                    f"{name:<28} {len(got):>5} {a:>7.3f} {s:>7.3f} {a / s:>8.2f}"
                    f"  {'ok' if goal else 'MISSED'}   api runs:"
                    f" {' '.join(f'{x:.3f}' for x in api_s)}",
                    flush=True,
                )
        await conn.close()


def _iso(value: str) -> Any:
    return date.fromisoformat(value)


def _diff(got: dict[str, Any], want: dict[str, Any]) -> list[Any]:
    keys = sorted(set(got) | set(want))
    return [(k, got.get(k), want.get(k)) for k in keys if got.get(k) != want.get(k)][:5]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs of each side first")
    args = parser.parse_args()
    asyncio.run(main(args.repeat, args.reuse, args.warmup))
