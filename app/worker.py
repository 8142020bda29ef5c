"""arq worker: job functions, cron jobs, and the per-worker context they share."""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from arq import Worker
from arq.connections import ArqRedis, RedisSettings
from arq.cron import cron

from app.auth.jobs import touch_api_key
from app.comments.jobs import notify_comment, send_contact_digests
from app.config import Settings, get_settings
from app.core.crypto import WEBHOOK_SECRETS, SecretBox
from app.core.db import Database
from app.core.jobs import REDIS_DOWN, pack_job, unpack_job
from app.core.mail import send_email
from app.core.secret_key import resolve_secret_key
from app.core.security import Secrets
from app.events.jobs import purge_old_events
from app.invoices.jobs import (
    record_overdue_invoices,
    run_invoices,
    run_scheduled_invoices,
    send_invoice,
)
from app.payments.jobs import apply_webhook_event
from app.portal.jobs import send_portal_login_links
from app.time_tracking.jobs import stop_overdue_timers
from app.webhooks.jobs import deliver_webhook, purge_old_deliveries, requeue_stalled_deliveries

log = logging.getLogger(__name__)

FUNCTIONS: list[Any] = [
    send_email,
    send_invoice,
    run_invoices,
    apply_webhook_event,
    touch_api_key,
    deliver_webhook,
    send_portal_login_links,
    notify_comment,
]
CRON_JOBS: list[Any] = [
    # Hourly: clients whose invoice schedule is due get their invoice.
    cron(run_scheduled_invoices, minute={5}, unique=True, run_at_startup=False),
    # Every five minutes: timers left running past their team's limit are stopped there.
    cron(stop_overdue_timers, minute=set(range(0, 60, 5)), unique=True, run_at_startup=False),
    # Every five minutes: webhook attempts whose job was lost are queued again.
    cron(
        requeue_stalled_deliveries, minute=set(range(2, 60, 5)), unique=True, run_at_startup=False
    ),
    # Hourly: invoices past their due date (on their team's day) get `invoice.overdue`.
    cron(record_overdue_invoices, minute={12}, unique=True, run_at_startup=False),
    # Every 15 minutes: contacts' digests of comments and task moves (each at most hourly).
    cron(send_contact_digests, minute={3, 18, 33, 48}, unique=True, run_at_startup=False),
    # Daily: events older than 30 days are deleted, in batches.
    cron(purge_old_events, hour={3}, minute={17}, unique=True, run_at_startup=False),
    # Daily: finished webhook deliveries as old as that go too.
    cron(purge_old_deliveries, hour={3}, minute={27}, unique=True, run_at_startup=False),
]


def make_startup(settings: Settings) -> Any:
    async def startup(ctx: dict[str, Any]) -> None:
        ctx["settings"] = settings
        secret_key = resolve_secret_key(settings)
        # Keys the hashes of the portal login links the worker emails.
        ctx["secrets"] = Secrets(settings, secret_key)
        # Opens the sealed signing secrets of webhook endpoints.
        ctx["webhook_box"] = SecretBox(secret_key, WEBHOOK_SECRETS)
        ctx["db"] = Database(
            settings.database_url or "",
            pool_size=5,
            connect_timeout=settings.db_connect_timeout_seconds,
            settings=settings,
        )

    return startup


async def shutdown(ctx: dict[str, Any]) -> None:
    db: Database | None = ctx.get("db")
    if db is not None:
        await db.dispose()


def build_worker(
    settings: Settings, *, redis: ArqRedis | None = None, burst: bool = False, **kw: Any
) -> Worker:
    return Worker(
        functions=FUNCTIONS,
        # A burst worker (the tests' `run_jobs`) drains the queue and stops: no cron jobs.
        # They would fire in whichever run first follows a tick (arq keeps `next_run` on
        # the shared CronJob objects) and count among that run's jobs.
        cron_jobs=[] if burst else CRON_JOBS,
        redis_settings=RedisSettings.from_dsn(settings.redis_url or ""),
        redis_pool=redis,
        on_startup=make_startup(settings),
        on_shutdown=shutdown,
        # msgpack, never pickle: a payload written to Redis must not run code here.
        job_serializer=pack_job,
        job_deserializer=unpack_job,
        burst=burst,
        handle_signals=not burst and kw.pop("handle_signals", True),
        max_tries=kw.pop("max_tries", 6),
        **kw,
    )


class WorkerTask:
    """An arq worker running as a task inside the API process (the embedded default).

    arq's worker stops when it loses Redis (`hourline worker` then exits, for its
    supervisor to start it again). Inside the API nothing would, and jobs would wait for
    a restart of the API: the task starts a new worker after a pause (1 s, doubling up to
    30 s) until Redis answers again.
    """

    def __init__(self, build: Callable[[], Worker]) -> None:
        self._build = build
        self.worker = build()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        pause = 1.0
        while True:
            try:
                await self.worker.async_run()
                return
            except REDIS_DOWN as exc:
                log.warning("the worker lost Redis (%s); starting it again in %.0f s", exc, pause)
            await _discard(self.worker)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 30.0)
            self.worker = self._build()

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await _discard(self.worker)


async def _discard(worker: Worker) -> None:
    """Close a worker; without Redis, still release its database pool and connections."""
    try:
        await worker.close()
    except REDIS_DOWN:
        await shutdown(worker.ctx)
        with contextlib.suppress(*REDIS_DOWN):
            await worker.pool.aclose()


async def start_worker_task(settings: Settings) -> WorkerTask:
    return WorkerTask(lambda: build_worker(settings, handle_signals=False))


def run_worker() -> None:
    """`hourline worker`: run workers on their own, stopped by SIGINT/SIGTERM."""
    # Worker.run owns the event loop, the signal handlers and the clean shutdown.
    build_worker(get_settings()).run()
