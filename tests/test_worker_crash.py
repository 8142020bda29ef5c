"""The worker is killed (SIGKILL) in the middle of an invoice run; after a restart every
invoice of the run exists exactly once and no entry is billed twice.

A real `hourline worker` process runs the job that POST /invoice-runs queues; the test
kills it as soon as the first client's invoice is committed, while the other clients are
still to come. arq leaves the job in the queue, held by an in-progress lease that runs out
`job_timeout` + 10 s (310 s) after the start; the test ends the lease itself instead of
waiting for it, then starts a second worker, which runs the job again from the top.
"""

import asyncio
import signal

from sqlalchemy import text

from app.core.jobs import unpack_job
from tests.factories import make_actor
from tests.factories.clients import new_client_project
from tests.factories.rates import add_rate
from tests.factories.time_tracking import add_entry
from tests.helpers import at
from tests.workers import start_worker

CLIENTS = 40
ENTRIES = 2  # per client, one hour each at 100.00 EUR


async def _scalar(app, sql: str, **params):  # type: ignore[no-untyped-def]
    async with app.state.db.engine.connect() as conn:
        return await conn.scalar(text(sql), params)


async def test_a_run_killed_half_way_is_finished_once_after_a_restart(
    client, app, settings, tmp_path
):
    owner = await make_actor(app)
    await add_rate(client, owner, 10000)
    for i in range(CLIENTS):
        _, pid = await new_client_project(client, owner, name=f"Client {i:02}")
        for n in range(ENTRIES):
            await add_entry(client, owner, pid, at(1 + i % 28, n * 12 + i // 28), 3600)
    team = {"t": owner.team_id}
    invoices = "SELECT count(*) FROM invoice WHERE team_id = :t"
    log_path = tmp_path / "worker.log"

    worker = await start_worker(settings, log_path)
    try:
        r = await client.post(
            owner.url("/invoice-runs"),
            json={"period_start": "2026-03-01", "period_end": "2026-03-31"},
            headers=owner.headers,
        )
        assert r.status_code == 202, r.text
        job_id = r.json()["job_id"]
        for _ in range(3000):
            if await _scalar(app, invoices, **team):
                break
            assert worker.returncode is None, log_path.read_text()
            await asyncio.sleep(0.005)
        worker.kill()
        await worker.wait()
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
    assert worker.returncode == -signal.SIGKILL

    # Killed mid-run: some clients invoiced, not all; nothing half-written.
    made_before = await _scalar(app, invoices, **team)
    assert 0 < made_before < CLIENTS, (made_before, log_path.read_text())
    assert made_before == await _scalar(
        app, "SELECT count(*) FROM invoice_run WHERE team_id = :t AND status = 'done'", **team
    )
    # arq still holds the job: queued, with the dead worker's lease on it.
    redis = app.state.redis
    assert await redis.zscore("arq:queue", job_id) is not None
    lease = await redis.pttl(f"arq:in-progress:{job_id}")
    assert 0 < lease <= 310_000
    await redis.delete(f"arq:in-progress:{job_id}")  # the lease running out

    worker = await start_worker(settings, log_path)
    try:
        for _ in range(600):
            raw = await redis.get(f"arq:result:{job_id}")
            if raw is not None:
                break
            assert worker.returncode is None, log_path.read_text()
            await asyncio.sleep(0.05)
        assert raw is not None, log_path.read_text()
    finally:
        worker.send_signal(signal.SIGTERM)
        await asyncio.wait_for(worker.wait(), timeout=30)
    result = unpack_job(raw)
    assert result["s"] is True, result
    assert result["t"] == 2  # the second try of the same job
    assert result["r"] == CLIENTS - made_before  # it made only the missing invoices

    # Exactly once: one run and one invoice per client, numbered without gaps; every
    # entry on exactly one of them and billed once in the totals.
    per_client = await _scalar(
        app,
        "SELECT array_agg(n ORDER BY n) FROM (SELECT count(*) AS n FROM invoice"
        " WHERE team_id = :t GROUP BY client_id) c",
        **team,
    )
    assert per_client == [1] * CLIENTS
    runs = await _scalar(
        app,
        "SELECT count(DISTINCT invoice_id) FROM invoice_run WHERE team_id = :t AND status = 'done'",
        **team,
    )
    assert runs == CLIENTS
    numbers = await _scalar(
        app, "SELECT array_agg(number ORDER BY number) FROM invoice WHERE team_id = :t", **team
    )
    assert len(set(numbers)) == CLIENTS
    unbilled = await _scalar(
        app, "SELECT count(*) FROM time_entry WHERE team_id = :t AND invoice_id IS NULL", **team
    )
    assert unbilled == 0
    assert (
        await _scalar(app, "SELECT sum(total_amount) FROM invoice WHERE team_id = :t", **team)
        == CLIENTS * ENTRIES * 10000
    )
    assert (
        await _scalar(
            app,
            "SELECT sum(quantity_seconds) FROM invoice_line WHERE team_id = :t AND kind = 'time'",
            **team,
        )
        == CLIENTS * ENTRIES * 3600
    )
