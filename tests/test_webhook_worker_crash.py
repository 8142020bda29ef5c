"""A worker killed (SIGKILL) in the middle of a webhook attempt: the delivery is still
made, by the next worker, with the same `webhook-id`.

A real `hourline worker` process takes the delivery job and POSTs to a local receiver
that holds the request unanswered; the test kills the worker while it waits. The row is
still `pending` (no answer was recorded) and arq keeps the job under the dead worker's
lease; the test ends the lease instead of waiting `job_timeout` + 10 s, starts a second
worker, and the attempt is made again.
"""

import asyncio
import signal

from sqlalchemy import text
from standardwebhooks.webhooks import Webhook

from tests.factories import make_actor
from tests.factories.webhooks import add_endpoint, deliveries_of, receiving
from tests.test_webhook_deliveries import emit
from tests.workers import start_worker


async def test_a_worker_killed_mid_delivery_still_delivers(client, app, settings, tmp_path):
    owner = await make_actor(app)
    log_path = tmp_path / "worker.log"
    settings.webhook_allow_private_targets = True
    try:
        async with receiving((200, "ok")) as receiver:
            receiver.release.clear()  # hold the first request unanswered
            endpoint = await add_endpoint(client, owner, url=receiver.url)
            event_id, (made,) = await emit(app, owner.team_id)
            worker = await start_worker(settings, log_path, WEBHOOK_ALLOW_PRIVATE_TARGETS="true")
            try:
                await asyncio.wait_for(receiver.arrived.wait(), timeout=30)
                worker.kill()
                await worker.wait()
            finally:
                if worker.returncode is None:
                    worker.kill()
                    await worker.wait()
            assert worker.returncode == -signal.SIGKILL
            receiver.release.set()

            # Killed mid-attempt: counted, unanswered, still pending; arq holds the job.
            (delivery,) = await deliveries_of(client, owner, endpoint["id"])
            assert delivery["status"] == "pending" and delivery["attempts"] == 1
            assert delivery["response_status"] is None
            async with app.state.db.engine.connect() as conn:
                token = await conn.scalar(text("SELECT job_token FROM webhook_delivery"))
            job_id = f"deliver_webhook:{made.id}:{token}"
            redis = app.state.redis
            assert await redis.zscore("arq:queue", job_id) is not None
            assert await redis.pttl(f"arq:in-progress:{job_id}") > 0
            await redis.delete(f"arq:in-progress:{job_id}")  # the lease running out

            worker = await start_worker(settings, log_path, WEBHOOK_ALLOW_PRIVATE_TARGETS="true")
            try:
                for _ in range(600):
                    (delivery,) = await deliveries_of(client, owner, endpoint["id"])
                    if delivery["status"] != "pending":
                        break
                    assert worker.returncode is None, log_path.read_text()
                    await asyncio.sleep(0.05)
            finally:
                worker.send_signal(signal.SIGTERM)
                await asyncio.wait_for(worker.wait(), timeout=30)
    finally:
        settings.webhook_allow_private_targets = False
    assert delivery["status"] == "succeeded", (delivery, log_path.read_text())
    assert delivery["attempts"] == 2 and delivery["response_status"] == 200
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == event_id
    for request in (first, second):
        Webhook(endpoint["secret"]).verify(request.body, request.headers)
